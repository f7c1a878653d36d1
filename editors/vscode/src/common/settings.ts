import * as os from "os";
import { ConfigurationChangeEvent, Uri, workspace } from "vscode";
import { SECTION } from "./constants";

/**
 * Settings read by the extension itself. Every other `amplifier.*` setting belongs to the
 * language server and is sent to it as is, with its key translated to the server's spelling.
 */
const EXTENSION_KEYS = new Set(["languages", "interpreter", "server.command", "trace.server"]);

/** Settings that change how the server process is started, so a change restarts it. */
const PROCESS_KEYS = ["languages", "interpreter", "server.command", "anthropic.apiKeyEnv"];

export interface ExtensionSettings {
  languages: string[];
  interpreter: string;
  serverCommand: string[];
  anthropicKeyEnv: string;
}

export function getExtensionSettings(): ExtensionSettings {
  const config = workspace.getConfiguration(SECTION);
  return {
    languages: config.get<string[]>("languages", []).filter((language) => language.trim() !== ""),
    interpreter: resolveVariables(config.get<string>("interpreter", "").trim()),
    serverCommand: config.get<string[]>("server.command", []).map(resolveVariables),
    anthropicKeyEnv: config.get<string>("anthropic.apiKeyEnv", "").trim() || "ANTHROPIC_API_KEY",
  };
}

export function affectsServerProcess(event: ConfigurationChangeEvent): boolean {
  return PROCESS_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`));
}

/**
 * List the server's settings from the `contributes.configuration` of package.json, as keys
 * below `amplifier.` in camelCase: `openai.baseUrl`.
 */
export function serverSettingKeys(packageJSON: unknown): string[] {
  const contributes = (packageJSON as { contributes?: { configuration?: unknown } }).contributes;
  const configuration = contributes?.configuration;
  const categories = Array.isArray(configuration) ? configuration : [configuration];

  const keys: string[] = [];
  for (const category of categories as { properties?: Record<string, unknown> }[]) {
    for (const name of Object.keys(category?.properties ?? {})) {
      const key = name.slice(SECTION.length + 1);
      if (name.startsWith(`${SECTION}.`) && !EXTENSION_KEYS.has(key)) {
        keys.push(key);
      }
    }
  }
  return keys;
}

/**
 * Build the settings tree the server reads, from the values a user or workspace set. Defaults
 * are left out, so that `.amplifier.toml` at the workspace root, which ranks below the
 * editor's settings in the server, still applies to every key the editor does not set.
 */
export function serverSettings(keys: string[], scope?: Uri): Record<string, unknown> {
  const config = workspace.getConfiguration(SECTION, scope);
  const tree: Record<string, unknown> = {};

  for (const key of keys) {
    const inspected = config.inspect(key);
    const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    if (value === undefined) {
      continue;
    }
    setPath(tree, key.split(".").map(toSnakeCase), value);
  }
  return tree;
}

/** Translate one key segment from VS Code's camelCase to the server's snake_case: `baseUrl` → `base_url`. */
export function toSnakeCase(segment: string): string {
  return segment.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function setPath(tree: Record<string, unknown>, path: string[], value: unknown): void {
  let node = tree;
  for (const part of path.slice(0, -1)) {
    const child = node[part];
    if (typeof child === "object" && child !== null) {
      node = child as Record<string, unknown>;
    } else {
      const created: Record<string, unknown> = {};
      node[part] = created;
      node = created;
    }
  }
  node[path[path.length - 1]] = value;
}

/** Expand `${workspaceFolder}`, `${userHome}` and a leading `~` in a path setting. */
export function resolveVariables(value: string): string {
  const home = os.homedir();
  const folder = workspace.workspaceFolders?.[0]?.uri.fsPath ?? "";
  let resolved = value.replace(/\$\{userHome\}/g, home).replace(/\$\{workspaceFolder\}/g, folder);
  if (resolved === "~" || resolved.startsWith("~/")) {
    resolved = home + resolved.slice(1);
  }
  return resolved;
}
