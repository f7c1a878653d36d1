import { commands, ExtensionContext, window, workspace } from "vscode";
import { Commands, ContextKeys } from "./common/constants";
import { cancelGenerations, EDITOR_COMMANDS, editorArguments, runGeneration } from "./common/generation";
import { createLogChannel, logError, logInfo, showLogs } from "./common/log";
import { ApiKeyStore } from "./common/secrets";
import { ServerManager } from "./common/server";
import { affectsServerProcess, getExtensionSettings, serverSettingKeys } from "./common/settings";
import { StatusItem } from "./common/status";

let server: ServerManager | undefined;

export async function activate(context: ExtensionContext): Promise<void> {
  const channel = createLogChannel();
  const status = new StatusItem();
  const keys = new ApiKeyStore(context.secrets);
  server = new ServerManager(channel, status, keys, serverSettingKeys(context.extension.packageJSON));
  const manager = server;
  context.subscriptions.push(channel, status, manager);
  const manifest = context.extension.packageJSON as { version: string };
  logInfo(`Amplifier ${manifest.version} activated.`);

  for (const [command, serverCommand] of Object.entries(EDITOR_COMMANDS)) {
    context.subscriptions.push(
      commands.registerCommand(command, async () => {
        const client = manager.runningClient;
        const editor = window.activeTextEditor;
        if (client === undefined || editor === undefined) {
          void window.showWarningMessage("Amplifier: open a document and wait for the language server to start.");
          return;
        }
        const languages = getExtensionSettings().languages;
        if (!languages.includes(editor.document.languageId)) {
          void window.showWarningMessage(
            `Amplifier works on the languages listed in amplifier.languages, which leaves out ${editor.document.languageId}.`,
          );
          return;
        }
        await runGeneration(client, serverCommand, [editorArguments(client, editor, serverCommand)]);
      }),
    );
  }

  context.subscriptions.push(
    commands.registerCommand(Commands.cancel, async () => {
      const client = manager.runningClient;
      if (client === undefined) {
        return;
      }
      const document = window.activeTextEditor?.document;
      const uri = document ? client.code2ProtocolConverter.asUri(document.uri) : undefined;
      try {
        await cancelGenerations(client, uri);
      } catch (error) {
        logError("Cancelling the generations failed", error);
      }
    }),
    commands.registerCommand(Commands.restart, () => manager.restart("requested with the Restart command")),
    commands.registerCommand(Commands.showLogs, showLogs),
    commands.registerCommand(Commands.setAnthropicApiKey, () => keys.promptForAnthropicKey()),
    keys.onDidChange(() => void manager.restart("the Anthropic API key changed")),
    workspace.onDidChangeConfiguration((event) => {
      if (affectsServerProcess(event)) {
        void manager.restart("a setting that starts the server changed");
      }
    }),
  );

  await commands.executeCommand("setContext", ContextKeys.languages, getExtensionSettings().languages);
  await manager.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
