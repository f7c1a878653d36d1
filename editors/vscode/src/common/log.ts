import { LogLevel, LogOutputChannel, window } from "vscode";
import { SERVER_NAME } from "./constants";

let channel: LogOutputChannel | undefined;

/**
 * Create the output channel shared by the extension and the language client. The server's
 * stderr and `window/logMessage` notifications end up there too.
 */
export function createLogChannel(): LogOutputChannel {
  channel = window.createOutputChannel(SERVER_NAME, { log: true });
  return channel;
}

export function showLogs(): void {
  channel?.show(true);
}

/** Return whether the channel's level ("Developer: Set Log Level") includes debug messages. */
export function debugLogging(): boolean {
  const level = channel?.logLevel ?? LogLevel.Info;
  return level !== LogLevel.Off && level <= LogLevel.Debug;
}

export function logInfo(message: string): void {
  channel?.info(message);
}

export function logWarning(message: string): void {
  channel?.warn(message);
}

export function logError(message: string, error?: unknown): void {
  channel?.error(error === undefined ? message : `${message}: ${describeError(error)}`);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
