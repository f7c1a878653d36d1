import {
  commands,
  Disposable,
  MarkdownString,
  StatusBarAlignment,
  StatusBarItem,
  ThemeColor,
  window,
} from "vscode";
import { Commands, ContextKeys } from "./constants";

/** The payload of the server's `amplifier/status` notification. */
export interface ServerStatus {
  backend: string;
  model: string;
  state: "starting" | "idle" | "busy" | "error";
  running: number;
  lastError: string | null;
}

const STATES = new Set(["starting", "idle", "busy", "error"]);

export function parseServerStatus(params: unknown): ServerStatus | undefined {
  if (typeof params !== "object" || params === null) {
    return undefined;
  }
  const value = params as Record<string, unknown>;
  if (typeof value.state !== "string" || !STATES.has(value.state)) {
    return undefined;
  }
  return {
    backend: typeof value.backend === "string" ? value.backend : "",
    model: typeof value.model === "string" ? value.model : "",
    state: value.state as ServerStatus["state"],
    running: typeof value.running === "number" ? value.running : 0,
    lastError: typeof value.lastError === "string" ? value.lastError : null,
  };
}

/**
 * The status bar item: backend and model, whether a generation is running, and the last
 * error. Clicking it opens the logs.
 */
export class StatusItem implements Disposable {
  private readonly item: StatusBarItem;
  private server: ServerStatus | undefined;

  constructor() {
    this.item = window.createStatusBarItem("amplifier.status", StatusBarAlignment.Right, 100);
    this.item.name = "Amplifier";
    this.item.command = Commands.showLogs;
    this.showStopped("Amplifier is not running yet.");
    this.item.show();
  }

  /** Show the state the server reported. */
  update(status: ServerStatus): void {
    this.server = status;
    void commands.executeCommand("setContext", ContextKeys.busy, status.state === "busy");

    const label = status.model ? `${status.backend} · ${status.model}` : status.backend;
    const icon = {
      starting: "$(loading~spin)",
      idle: "$(pencil)",
      busy: "$(loading~spin)",
      error: "$(warning)",
    }[status.state];
    this.item.text = `${icon} ${label}`;
    this.item.backgroundColor =
      status.state === "error" ? new ThemeColor("statusBarItem.warningBackground") : undefined;

    const tooltip = new MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**Amplifier**: ${status.state}`);
    if (status.running > 0) {
      tooltip.appendMarkdown(`, ${status.running} running`);
    }
    tooltip.appendMarkdown(`\n\nBackend: \`${status.backend}\``);
    tooltip.appendMarkdown(`\n\nModel: \`${status.model || "default"}\``);
    if (status.lastError) {
      tooltip.appendMarkdown("\n\nLast error: ");
      tooltip.appendText(status.lastError);
    }
    tooltip.appendMarkdown("\n\nClick to open the logs.");
    this.item.tooltip = tooltip;
  }

  /** Show that the server is being started, keeping the last reported backend and model. */
  showStarting(): void {
    const label = this.server ? `${this.server.backend}${this.server.model ? ` · ${this.server.model}` : ""}` : "Amplifier";
    this.item.text = `$(loading~spin) ${label}`;
    this.item.backgroundColor = undefined;
    this.item.tooltip = "Amplifier: starting the language server. Click to open the logs.";
  }

  /** Show that no server runs, and why. */
  showStopped(reason: string): void {
    void commands.executeCommand("setContext", ContextKeys.busy, false);
    this.item.text = "$(circle-slash) Amplifier";
    this.item.backgroundColor = undefined;
    this.item.tooltip = `${reason} Click to open the logs.`;
  }

  /** Show an error of the extension itself, such as a server that cannot be started. */
  showError(message: string): void {
    void commands.executeCommand("setContext", ContextKeys.busy, false);
    this.item.text = "$(error) Amplifier";
    this.item.backgroundColor = new ThemeColor("statusBarItem.errorBackground");
    this.item.tooltip = `${message} Click to open the logs.`;
  }

  dispose(): void {
    this.item.dispose();
  }
}
