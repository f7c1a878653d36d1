/** The configuration section of the extension and of the language server. */
export const SECTION = "amplifier";

export const SERVER_NAME = "Amplifier";

/** Commands the extension contributes (palette, editor context menu, status item). */
export const Commands = {
  continueSection: "amplifier.editor.continueSection",
  writeNextSection: "amplifier.editor.writeNextSection",
  expandOutline: "amplifier.editor.expandOutline",
  cancel: "amplifier.editor.cancel",
  restart: "amplifier.restart",
  showLogs: "amplifier.showLogs",
  setAnthropicApiKey: "amplifier.setAnthropicApiKey",
} as const;

/**
 * Commands the language server runs through `workspace/executeCommand`. The client registers
 * VS Code commands under these ids itself, so the extension's own commands use other ids.
 */
export const ServerCommands = {
  continueSection: "amplifier.continueSection",
  writeNextSection: "amplifier.writeNextSection",
  expandOutline: "amplifier.expandOutline",
  insertSuggestion: "amplifier.insertSuggestion",
  cancel: "amplifier.cancel",
} as const;

/** Context keys used in the `when` clauses of package.json. */
export const ContextKeys = {
  languages: "amplifier.languages",
  serverRunning: "amplifier.serverRunning",
  busy: "amplifier.busy",
} as const;

/** Key of the Anthropic API key in VS Code's SecretStorage. */
export const ANTHROPIC_KEY_SECRET = "amplifier.anthropic.apiKey";

export const STATUS_NOTIFICATION = "amplifier/status";
