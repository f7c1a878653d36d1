import { commands, Disposable, LogOutputChannel, window, workspace } from "vscode";
import {
  DidChangeConfigurationNotification,
  DocumentSelector,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  ResponseError,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import { ContextKeys, SECTION, SERVER_NAME, STATUS_NOTIFICATION } from "./constants";
import { isGenerationCommand, runGeneration } from "./generation";
import { LaunchError, resolveLaunchCommand } from "./launch";
import { debugLogging, describeError, logError, logInfo, showLogs } from "./log";
import { ApiKeyStore } from "./secrets";
import { getExtensionSettings, serverSettings } from "./settings";
import { parseServerStatus, StatusItem } from "./status";

const SCHEMES = ["file", "untitled"];
const STOP_TIMEOUT_MS = 2000;

/**
 * The language client and the `amplifier-ls serve` process behind it. Starts, stops and
 * restarts run one after another, so that two quick setting changes cannot leave two servers.
 */
export class ServerManager implements Disposable {
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly channel: LogOutputChannel,
    private readonly status: StatusItem,
    private readonly keys: ApiKeyStore,
    private readonly settingKeys: string[],
  ) {}

  /** The client, once the server runs; undefined while it starts or after it stopped. */
  get runningClient(): LanguageClient | undefined {
    return this.client?.isRunning() ? this.client : undefined;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.startNow());
  }

  restart(reason: string): Promise<void> {
    return this.enqueue(async () => {
      logInfo(`Restarting the language server: ${reason}.`);
      await this.stopNow();
      await this.startNow();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.stopNow());
  }

  dispose(): void {
    void this.stop();
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step);
    return this.queue;
  }

  private async startNow(): Promise<void> {
    const settings = getExtensionSettings();
    await commands.executeCommand("setContext", ContextKeys.languages, settings.languages);
    this.status.showStarting();

    let launch;
    try {
      launch = await resolveLaunchCommand(settings, debugLogging());
    } catch (error) {
      if (!(error instanceof LaunchError)) {
        throw error;
      }
      this.reportStartFailure(error.message);
      return;
    }

    const env: NodeJS.ProcessEnv = { ...process.env };
    const anthropicKey = await this.keys.anthropicKey();
    if (anthropicKey !== undefined) {
      env[settings.anthropicKeyEnv] = anthropicKey;
    }
    const cwd = workspace.workspaceFolders?.[0]?.uri.fsPath;
    logInfo(`Starting ${launch.command} ${launch.args.join(" ")} (from ${launch.source})${cwd ? ` in ${cwd}` : ""}.`);

    // Without a `transport` the client speaks over stdio without adding `--stdio` to the
    // arguments, which `amplifier-ls serve` does not accept.
    const serverOptions: ServerOptions = { command: launch.command, args: launch.args, options: { cwd, env } };
    const documentSelector: DocumentSelector = settings.languages.flatMap((language) =>
      SCHEMES.map((scheme) => ({ scheme, language })),
    );
    const clientOptions: LanguageClientOptions = {
      documentSelector,
      outputChannel: this.channel,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: serverSettings(this.settingKeys),
      middleware: this.middleware(),
    };

    const client = new LanguageClient(SECTION, SERVER_NAME, serverOptions, clientOptions);
    client.onDidChangeState((event) => {
      void commands.executeCommand("setContext", ContextKeys.serverRunning, event.newState === State.Running);
      if (event.newState === State.Stopped && this.client === client) {
        this.status.showStopped("The Amplifier language server stopped.");
      }
    });
    client.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      const status = parseServerStatus(params);
      if (status !== undefined) {
        this.status.update(status);
      }
    });
    this.client = client;

    try {
      await client.start();
    } catch (error) {
      this.client = undefined;
      this.reportStartFailure(`The language server (${launch.command}) failed to start: ${describeError(error)}`);
    }
  }

  private async stopNow(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      await client.dispose(STOP_TIMEOUT_MS);
    } catch (error) {
      logError("Stopping the language server failed", error);
    }
    this.status.showStopped("The Amplifier language server is stopped.");
  }

  private reportStartFailure(message: string): void {
    logError(message);
    this.status.showError(message);
    void window.showErrorMessage(`Amplifier: ${message}`, "Open Settings", "Show Logs").then((choice) => {
      if (choice === "Open Settings") {
        void commands.executeCommand("workbench.action.openSettings", SECTION);
      } else if (choice === "Show Logs") {
        showLogs();
      }
    });
  }

  /**
   * The server expects the `amplifier` section in its own key spelling and with only the
   * values a user set. So both ways settings reach it are rewritten: the response to
   * `workspace/configuration` and the `workspace/didChangeConfiguration` payload. Generation
   * commands, also those run from code actions, go through `runGeneration` for progress and
   * cancellation.
   */
  private middleware(): Middleware {
    const keys = this.settingKeys;
    return {
      workspace: {
        configuration: async (params, token, next) => {
          const answers: unknown = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers as ResponseError;
          }
          return params.items.map((item, index): unknown => {
            if (item.section !== SECTION) {
              return answers[index] as unknown;
            }
            const scope = item.scopeUri ? this.client?.protocol2CodeConverter.asUri(item.scopeUri) : undefined;
            return serverSettings(keys, scope);
          });
        },
        didChangeConfiguration: async () => {
          const settings = { [SECTION]: serverSettings(keys, workspace.workspaceFolders?.[0]?.uri) };
          await this.client?.sendNotification(DidChangeConfigurationNotification.type, { settings });
        },
      },
      executeCommand: async (command, args, next) => {
        const client = this.client;
        if (client !== undefined && isGenerationCommand(command)) {
          return runGeneration(client, command, args);
        }
        return next(command, args) as unknown;
      },
    };
  }
}
