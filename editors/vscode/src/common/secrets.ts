import { Disposable, SecretStorage, window } from "vscode";
import { ANTHROPIC_KEY_SECRET } from "./constants";
import { logInfo } from "./log";

/**
 * The Anthropic API key, kept in VS Code's SecretStorage (the operating system's keychain
 * where there is one) and never in a settings file. The server receives it in its
 * environment, so a change of the key restarts the server.
 */
export class ApiKeyStore {
  constructor(private readonly secrets: SecretStorage) {}

  async anthropicKey(): Promise<string | undefined> {
    const key = await this.secrets.get(ANTHROPIC_KEY_SECRET);
    return key ? key : undefined;
  }

  onDidChange(listener: () => void): Disposable {
    return this.secrets.onDidChange((event) => {
      if (event.key === ANTHROPIC_KEY_SECRET) {
        listener();
      }
    });
  }

  /** Ask for the key. An empty input removes the stored key, and Escape changes nothing. */
  async promptForAnthropicKey(): Promise<void> {
    const stored = await this.anthropicKey();
    const key = await window.showInputBox({
      title: "Anthropic API Key",
      prompt: stored
        ? "A key is stored. Enter a new key to replace it, or leave the box empty to remove it."
        : "Enter the key from the Anthropic Console. It is stored in VS Code's secret storage.",
      placeHolder: "sk-ant-…",
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) {
      return;
    }

    const trimmed = key.trim();
    if (trimmed === "") {
      if (stored) {
        await this.secrets.delete(ANTHROPIC_KEY_SECRET);
        logInfo("Removed the stored Anthropic API key.");
        void window.showInformationMessage("Amplifier: removed the stored Anthropic API key.");
      }
      return;
    }
    await this.secrets.store(ANTHROPIC_KEY_SECRET, trimmed);
    logInfo("Stored a new Anthropic API key.");
    void window.showInformationMessage("Amplifier: stored the Anthropic API key; the language server restarts to use it.");
  }
}
