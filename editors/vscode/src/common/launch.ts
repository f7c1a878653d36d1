import * as fs from "fs";
import * as path from "path";
import { ExtensionSettings } from "./settings";

/** The server's command line, and the setting that chose it (for messages). */
export interface LaunchCommand {
  command: string;
  args: string[];
  source: string;
}

export class LaunchError extends Error {}

const EXECUTABLE = "amplifier-ls";

/**
 * Choose the server's command line: `amplifier.server.command` as given, else
 * `python -m amplifier_ls serve` with `amplifier.interpreter`, else `amplifier-ls serve` from
 * PATH. `verbose` adds `-v` to the last two, because a command given in full is the user's.
 */
export async function resolveLaunchCommand(settings: ExtensionSettings, verbose: boolean): Promise<LaunchCommand> {
  const extraArgs = verbose ? ["-v"] : [];

  if (settings.serverCommand.length > 0) {
    const [command, ...args] = settings.serverCommand;
    if (!command) {
      throw new LaunchError("The setting amplifier.server.command starts with an empty program name; put the path of amplifier-ls first.");
    }
    return { command, args, source: "amplifier.server.command" };
  }

  if (settings.interpreter !== "") {
    const interpreter = settings.interpreter.includes(path.sep)
      ? await executableOrUndefined(settings.interpreter)
      : await findOnPath(settings.interpreter);
    if (interpreter === undefined) {
      throw new LaunchError(
        `The Python interpreter ${settings.interpreter} was not found or is not executable; fix the setting amplifier.interpreter.`,
      );
    }
    return {
      command: interpreter,
      args: ["-m", "amplifier_ls", "serve", ...extraArgs],
      source: "amplifier.interpreter",
    };
  }

  const found = await findOnPath(EXECUTABLE);
  if (found === undefined) {
    throw new LaunchError(
      "amplifier-ls was not found on PATH; install it (pip install amplifier-ls), or set amplifier.interpreter to the Python of an environment that has it.",
    );
  }
  return { command: found, args: ["serve", ...extraArgs], source: "PATH" };
}

async function findOnPath(name: string): Promise<string | undefined> {
  const directories = (process.env.PATH ?? "").split(path.delimiter).filter((entry) => entry !== "");
  const names = process.platform === "win32" ? [`${name}.exe`, `${name}.cmd`, name] : [name];
  for (const directory of directories) {
    for (const candidate of names) {
      const full = path.join(directory, candidate);
      if (await isExecutable(full)) {
        return full;
      }
    }
  }
  return undefined;
}

async function executableOrUndefined(file: string): Promise<string | undefined> {
  return (await isExecutable(file)) ? file : undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.promises.stat(file);
    if (!stat.isFile()) {
      return false;
    }
    await fs.promises.access(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
