import { randomUUID } from "crypto";
import { ProgressLocation, TextEditor, window } from "vscode";
import {
  BaseLanguageClient,
  ExecuteCommandRequest,
  LSPErrorCodes,
  ResponseError,
  WorkDoneProgress,
} from "vscode-languageclient";
import { Commands, ServerCommands } from "./constants";
import { describeError, logError, logInfo, logWarning, showLogs } from "./log";

/** The result of every generation command of the server (see docs/lsp.md). */
export interface CommandResult {
  applied: boolean;
  status: "ok" | "empty" | "degenerate" | "cancelled" | "stale" | "error";
  message: string;
}

const TITLES: Record<string, string> = {
  [ServerCommands.continueSection]: "Continuing the section",
  [ServerCommands.writeNextSection]: "Writing the next section",
  [ServerCommands.expandOutline]: "Expanding the outline",
};

export function isGenerationCommand(command: string): boolean {
  return command in TITLES;
}

/** The server command that an editor command of the extension runs. */
export const EDITOR_COMMANDS: Record<string, string> = {
  [Commands.continueSection]: ServerCommands.continueSection,
  [Commands.writeNextSection]: ServerCommands.writeNextSection,
  [Commands.expandOutline]: ServerCommands.expandOutline,
};

/**
 * Build the argument of a server command for the editor's cursor: `{uri, position}`, or
 * `{uri, range}` to expand a selected outline.
 */
export function editorArguments(client: BaseLanguageClient, editor: TextEditor, command: string): object {
  const converter = client.code2ProtocolConverter;
  const uri = converter.asUri(editor.document.uri);
  const selection = editor.selection;

  if (command === ServerCommands.expandOutline && !selection.isEmpty) {
    return { uri, range: converter.asRange(selection) };
  }
  return { uri, position: converter.asPosition(selection.active) };
}

/**
 * Run a generation command of the server with a cancellable progress notification.
 *
 * vscode-languageclient sends `workspace/executeCommand` without a `workDoneToken` and shows
 * progress that the server creates itself only in the window's status area, where it cannot
 * be cancelled. So the request is sent here with a token of the extension's own: the
 * server's `$/progress` reports for it update the notification, and its Cancel button sends
 * `$/cancelRequest`.
 */
export async function runGeneration(
  client: BaseLanguageClient,
  command: string,
  args: unknown[],
): Promise<CommandResult | undefined> {
  const title = TITLES[command] ?? command;
  const token = randomUUID();

  return window.withProgress(
    { location: ProgressLocation.Notification, title: `Amplifier: ${title}`, cancellable: true },
    async (progress, cancellation) => {
      const subscription = client.onProgress(WorkDoneProgress.type, token, (value) => {
        if (value.kind !== "end" && value.message) {
          progress.report({ message: value.message });
        }
      });

      try {
        const result = (await client.sendRequest(
          ExecuteCommandRequest.type,
          { command, arguments: args, workDoneToken: token },
          cancellation,
        )) as CommandResult | null;
        if (result === null || typeof result !== "object") {
          logWarning(`${command} returned no result.`);
          return undefined;
        }
        reportResult(title, result);
        return result;
      } catch (error) {
        if (cancellation.isCancellationRequested || isCancellation(error)) {
          logInfo(`${title}: cancelled.`);
          return { applied: false, status: "cancelled", message: "" };
        }
        logError(`${title} failed`, error);
        void showError(`Amplifier: ${title.toLowerCase()} failed: ${describeError(error)}`);
        return undefined;
      } finally {
        subscription.dispose();
      }
    },
  );
}

/** Cancel the generations running for a document, or every generation when `uri` is undefined. */
export async function cancelGenerations(client: BaseLanguageClient, uri: string | undefined): Promise<void> {
  const argument = uri === undefined ? {} : { uri };
  await client.sendRequest(ExecuteCommandRequest.type, { command: ServerCommands.cancel, arguments: [argument] });
}

function reportResult(title: string, result: CommandResult): void {
  const message = result.message ? `Amplifier: ${result.message}` : "";
  logInfo(`${title}: ${result.status}${result.applied ? ", applied" : ""}${result.message ? ` (${result.message})` : ""}`);

  switch (result.status) {
    case "ok":
      if (!result.applied && message) {
        void window.showInformationMessage(message);
      }
      break;
    case "empty":
      void window.showInformationMessage(message || "Amplifier: the model produced no text here.");
      break;
    case "degenerate":
    case "stale":
      void window.showWarningMessage(message || `Amplifier: ${title.toLowerCase()} produced nothing usable.`);
      break;
    case "error":
      void showError(message || `Amplifier: ${title.toLowerCase()} failed.`);
      break;
    case "cancelled":
      break;
  }
}

async function showError(message: string): Promise<void> {
  const choice = await window.showErrorMessage(message, "Show Logs");
  if (choice === "Show Logs") {
    showLogs();
  }
}

function isCancellation(error: unknown): boolean {
  return error instanceof ResponseError && error.code === LSPErrorCodes.RequestCancelled;
}
