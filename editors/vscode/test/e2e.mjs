// End-to-end test of the packaged extension in a real VS Code: code-server serves VS Code on
// 127.0.0.1, headless Chromium (driven by playwright-core) types into a Markdown file, and the
// language server predicts through the fake OpenAI-compatible server of tests/fakes.
//
// Usage: node test/e2e.mjs --vsix FILE --python PYTHON [--code-server BIN] [--keep]
// It prints one line per step and ends with "vscode e2e: passed" or "vscode e2e: FAILED".
// The exit status is 0 when the test passed.

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const extensionRoot = path.resolve(here, "..");
const repoRoot = path.resolve(extensionRoot, "..", "..");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const SUCCESS_SCREENSHOT = process.env.E2E_SCREENSHOT || path.join(os.tmpdir(), "vscode-e2e.png");
const FAILURE_SCREENSHOT = path.join(os.tmpdir(), "vscode-e2e-failure.png");
const PROGRESS_SCREENSHOT = path.join(os.tmpdir(), "vscode-e2e-progress.png");
const STEP_TIMEOUT_MS = 90_000;

// The prompt of an outline expansion frames the outline in this comment (prompt_builder.py);
// every other prompt is answered with the inline text.
const OUTLINE_MARKER = "Outline of the next part";
const TYPED = "The lamps came on one by one";
const INLINE_TEXT = " along the quay while the water turned dark. The last boats came in after that.";
const INLINE_SENTENCE = " along the quay while the water turned dark.";
const DRAFT =
  "The fog lay over the water until the sun burned it off.\n\n" +
  "Gulls lined the breakwater and waited for the boats.\n\n" +
  "At seven the first ferry left the harbour.";
const SLOW_TEXT =
  "Nobody on the quay looked up when the bell rang for the last crossing of the night, " +
  "because the sound had become part of the harbour itself.";
// The key is stored through the UI and passed in the variable that both backends read, so the
// fake OpenAI server receives it as `Authorization: Bearer`.
const API_KEY = "sk-e2e-not-a-real-key";
const KEY_VARIABLE = "AMPLIFIER_E2E_API_KEY";
const KEYED_TEXT = " The bell rang twice from the tower.";
const OUTLINE = ["- the fog over the water", "- gulls on the breakwater", "- the first ferry leaving"];
const DOCUMENT = [
  "# Field notes",
  "",
  "The harbour was quiet before dawn.",
  "",
  "## Morning",
  "",
  ...OUTLINE,
  "",
  "## Evening",
  "",
  "",
].join("\n");
const OUTLINE_FIRST_LINE = 7;

const VALUE_OPTIONS = { "--vsix": "vsix", "--python": "python", "--code-server": "codeServer" };

function parseArguments(argv) {
  const options = { keep: false };
  for (let index = 0; index < argv.length; index += 1) {
    const name = argv[index];
    if (name === "--keep") {
      options.keep = true;
    } else if (name in VALUE_OPTIONS) {
      index += 1;
      options[VALUE_OPTIONS[name]] = argv[index];
    } else {
      throw new Error(`unknown argument ${name}`);
    }
  }
  options.vsix ??= path.join(extensionRoot, "amplifier.vsix");
  options.python ??= path.join(repoRoot, ".venv", "bin", "python");
  options.codeServer ??= path.join(extensionRoot, ".code-server", "node_modules", ".bin", "code-server");
  return options;
}

const started = Date.now();
function step(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

async function waitFor(description, check, timeoutMs = STEP_TIMEOUT_MS, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) {
        return value;
      }
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${description}${lastError ? ` (${lastError.message})` : ""}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Start a process in its own process group, so that stopping it also stops its children. */
function startGroup(command, args, options, logFile) {
  const log = fs.openSync(logFile, "a");
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", log] });
  child.stdout.on("data", (data) => fs.appendFileSync(logFile, data));
  return child;
}

async function stopGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), 5000));
  if ((await Promise.race([exited, timeout])) === "timeout") {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group exited between the check and the kill.
    }
  }
}

async function startFakeServer(python, folder) {
  const script = {
    default: { text: INLINE_TEXT, delay_ms: 5 },
    rules: [{ when_prompt_contains: OUTLINE_MARKER, text: DRAFT, delay_ms: 20 }],
    models: ["fake-model"],
  };
  const scriptFile = path.join(folder, "fake-openai-script.json");
  fs.writeFileSync(scriptFile, JSON.stringify(script, null, 2));

  const fake = path.join(repoRoot, "tests", "fakes", "openai_server.py");
  const logFile = path.join(folder, "fake-openai.log");
  const child = startGroup(python, [fake, "--port", "0", "--script", scriptFile, "--verbose"], {}, logFile);
  const baseUrl = await waitFor("the fake OpenAI server to print READY", () => {
    const match = /^READY (\S+)/m.exec(fs.readFileSync(logFile, "utf8"));
    if (child.exitCode !== null) {
      throw new Error(`the fake OpenAI server exited with ${child.exitCode}; see ${logFile}`);
    }
    return match?.[1];
  }, 20_000, 100);
  return { child, baseUrl };
}

function writeWorkspace(folder, { baseUrl, python, cacheDir }) {
  const workspace = path.join(folder, "workspace");
  fs.mkdirSync(path.join(workspace, ".vscode"), { recursive: true });
  fs.writeFileSync(path.join(workspace, "draft.md"), DOCUMENT);
  const settings = {
    "amplifier.backend": "openai",
    "amplifier.openai.baseUrl": baseUrl,
    "amplifier.model": "fake-model",
    "amplifier.cache.dir": cacheDir,
    "amplifier.interpreter": python,
    "amplifier.server.onSave": "off",
    "amplifier.server.debounceMs": 100,
    "amplifier.decoding.temperature": 0,
    "amplifier.anthropic.apiKeyEnv": KEY_VARIABLE,
    "amplifier.openai.apiKeyEnv": KEY_VARIABLE,
  };
  fs.writeFileSync(path.join(workspace, ".vscode", "settings.json"), JSON.stringify(settings, null, 2));
  return workspace;
}

function writeUserSettings(userDataDir) {
  // Keep the window free of what would take the keyboard focus or steal the Tab key.
  const settings = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.welcomePage.walkthroughs.openOnInstall": false,
    "workbench.enableExperiments": false,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "security.workspace.trust.enabled": false,
    "chat.commandCenter.enabled": false,
    "editor.minimap.enabled": false,
    "editor.wordWrap": "on",
    "editor.quickSuggestions": { other: "off", comments: "off", strings: "off" },
    "editor.suggestOnTriggerCharacters": false,
    "editor.wordBasedSuggestions": "off",
    "editor.inlineSuggest.enabled": true,
    "files.autoSave": "off",
  };
  fs.mkdirSync(path.join(userDataDir, "User"), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, "User", "settings.json"), JSON.stringify(settings, null, 2));
}

function codeServerEnvironment(folder) {
  return {
    ...process.env,
    // An unreachable gallery on 127.0.0.1, so that installing a .vsix looks nothing up outside.
    EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: "http://127.0.0.1:9/" }),
    XDG_CONFIG_HOME: path.join(folder, "xdg-config"),
    XDG_DATA_HOME: path.join(folder, "xdg-data"),
    XDG_CACHE_HOME: path.join(folder, "xdg-cache"),
  };
}

function installExtension(options, dirs, env) {
  const result = spawnSync(
    options.codeServer,
    ["--install-extension", options.vsix, "--user-data-dir", dirs.userData, "--extensions-dir", dirs.extensions, "--force"],
    { env, encoding: "utf8", timeout: 120_000 },
  );
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0 || !/successfully installed/i.test(output)) {
    throw new Error(`installing ${options.vsix} failed (exit ${result.status}):\n${output}`);
  }
  step(`installed ${path.basename(options.vsix)}: ${output.trim().split("\n").pop()}`);
}

async function startCodeServer(options, dirs, workspace, env) {
  const port = await freePort();
  const args = [
    "--auth", "none",
    "--bind-addr", `127.0.0.1:${port}`,
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    "--disable-getting-started-override",
    "--ignore-last-opened",
    "--user-data-dir", dirs.userData,
    "--extensions-dir", dirs.extensions,
    "--config", path.join(dirs.root, "code-server.yaml"),
    workspace,
  ];
  const child = startGroup(options.codeServer, args, { env }, path.join(dirs.root, "code-server.log"));
  const url = `http://127.0.0.1:${port}`;
  await waitFor("code-server to answer /healthz", async () => {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with ${child.exitCode}; see ${path.join(dirs.root, "code-server.log")}`);
    }
    const response = await fetch(`${url}/healthz`);
    return response.ok;
  }, 60_000);
  return { child, url };
}

/** Return the text of the visible editor lines, with Monaco's non-breaking spaces as spaces. */
async function editorText(page) {
  const text = await page.locator(".monaco-editor .view-lines").first().innerText();
  return text.replace(/\u00a0/g, " ");
}

async function fakeStats(baseUrl) {
  const response = await fetch(new URL("/_fake/stats", baseUrl));
  return response.json();
}

async function setFakeScript(baseUrl, script) {
  const response = await fetch(new URL("/_fake/script", baseUrl), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(script),
  });
  if (!response.ok) {
    throw new Error(`the fake server rejected the script: ${await response.text()}`);
  }
}

function completionRequests(stats) {
  return stats.requests.filter((request) => request.path === "/v1/completions");
}

async function runPaletteCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor();
  await page.keyboard.press("Enter");
}

async function openDraft(page, url, workspace) {
  step("opening VS Code");
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator(".monaco-workbench").waitFor();
  await page.locator(".explorer-folders-view, .explorer-viewlet").first().waitFor();

  step("opening draft.md with Quick Open");
  await page.keyboard.press("Control+P");
  const quickOpen = page.locator(".quick-input-widget input");
  await quickOpen.waitFor({ state: "visible" });
  await quickOpen.fill("draft.md");
  await page.locator(".quick-input-list .monaco-list-row", { hasText: "draft.md" }).first().waitFor();
  await page.keyboard.press("Enter");
  await page.locator(".tab", { hasText: "draft.md" }).waitFor();
  await waitFor("the editor to show draft.md", async () => (await editorText(page)).includes("Field notes"));
}

async function waitForStatusItem(page, label) {
  const item = page.locator(".statusbar-item", { hasText: label }).first();
  await item.waitFor();
  const text = (await item.innerText()).trim();
  step(`status item: "${text}"`);
  return item;
}

async function acceptGhostText(page) {
  step("typing at the end of the document and waiting for ghost text");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(TYPED, { delay: 40 });
  const ghost = page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text");
  await waitFor("ghost text with the predicted sentence", async () => {
    const texts = await ghost.allInnerTexts();
    return texts.join("").replace(/\u00a0/g, " ").includes("along the quay");
  });

  step("accepting the ghost text with Tab");
  await page.keyboard.press("Tab");
  await waitFor("the accepted suggestion in the editor", async () =>
    (await editorText(page)).includes(`${TYPED}${INLINE_SENTENCE}`),
  );
  if ((await editorText(page)).includes("The last boats came in")) {
    throw new Error("the accepted suggestion reaches past the first sentence, the inline horizon");
  }
}

async function expandOutlineFromContextMenu(page) {
  step("selecting the outline and expanding it from the editor's context menu");
  await page.keyboard.press("Control+G");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type(String(OUTLINE_FIRST_LINE));
  await page.keyboard.press("Enter");
  await page.keyboard.press("Home");
  for (let line = 1; line < OUTLINE.length; line += 1) {
    await page.keyboard.press("Shift+ArrowDown");
  }
  await page.keyboard.press("Shift+End");

  // The editor draws the selection as one element per line, and some may not be laid out
  // yet (no bounding box), so wait for the first one with a size.
  const selected = page.locator(".monaco-editor .selected-text");
  const box = await waitFor("the selection to be drawn", async () => {
    for (let index = 0; index < (await selected.count()); index += 1) {
      const candidate = await selected.nth(index).boundingBox();
      if (candidate && candidate.width > 0 && candidate.height > 0) {
        return candidate;
      }
    }
    return undefined;
  });
  await page.mouse.click(box.x + Math.min(20, box.width / 2), box.y + box.height / 2, { button: "right" });
  const menuItem = page.locator(".monaco-menu .action-item", { hasText: "Expand the Selected Outline into a Draft" });
  await menuItem.first().waitFor({ timeout: 10_000 });
  // Hovering focuses the menu item and Enter runs it. A click right after the menu opens
  // can be taken for the release of the right button, which VS Code's menu ignores.
  await menuItem.first().hover();
  await page.locator(".monaco-menu .action-item.focused", { hasText: "Expand the Selected Outline" }).waitFor();
  await page.keyboard.press("Enter");
  await page.locator(".monaco-menu").waitFor({ state: "hidden" });

  await waitFor("the draft to replace the outline", async () => {
    const text = await editorText(page);
    return text.includes("The fog lay over the water") && !text.includes(OUTLINE[0]);
  });
}

async function saveAndCheckFile(page, draft) {
  step("saving with Ctrl+S and checking the file on disk");
  await page.keyboard.press("Control+S");
  const saved = await waitFor("draft.md on disk to contain the draft", async () => {
    const text = await fs.promises.readFile(draft, "utf8");
    return text.includes("At seven the first ferry left the harbour.") ? text : undefined;
  });

  const expectations = [
    [saved.includes(`${TYPED}${INLINE_SENTENCE}`), "the accepted inline suggestion"],
    [saved.includes(DRAFT), "the expanded draft"],
    [!OUTLINE.some((line) => saved.includes(line)), "no outline line"],
    [saved.startsWith("# Field notes\n\nThe harbour was quiet before dawn.\n\n## Morning\n\n"), "the text before the outline unchanged"],
  ];
  for (const [ok, what] of expectations) {
    if (!ok) {
      throw new Error(`draft.md on disk lacks ${what}:\n${saved}`);
    }
  }
  return saved;
}

async function checkRequestsSoFar(baseUrl) {
  const stats = await fakeStats(baseUrl);
  const requests = completionRequests(stats);
  const models = new Set(requests.map((request) => request.body.model));
  const temperatures = new Set(requests.map((request) => request.body.temperature));
  if (requests.length < 2 || models.size !== 1 || !models.has("fake-model")) {
    throw new Error(`expected completions for fake-model only, got ${requests.length} for ${[...models]}`);
  }
  if (temperatures.size !== 1 || !temperatures.has(0)) {
    throw new Error(`amplifier.decoding.temperature 0 did not reach the server: temperatures ${[...temperatures]}`);
  }
  if (requests.some((request) => "authorization" in request.headers)) {
    throw new Error("a request carried an Authorization header before an API key was stored");
  }
  step(`the fake server served ${requests.length} completions for fake-model at temperature 0`);
}

async function changeModelAndCancel(page, workspace, baseUrl, saved) {
  step("changing amplifier.model in .vscode/settings.json, without a reload");
  const settingsFile = path.join(workspace, ".vscode", "settings.json");
  const settings = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
  fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, "amplifier.model": "fake-model-2" }, null, 2));
  await waitForStatusItem(page, "fake-model-2");

  step("running Continue This Section from the palette against a slow model, then cancelling it");
  await setFakeScript(baseUrl, { default: { text: SLOW_TEXT, delay_ms: 400 } });
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  await runPaletteCommand(page, "Amplifier: Continue This Section");

  const toast = page.locator(".notification-toast", { hasText: "Continuing the section" });
  await toast.waitFor();
  await waitFor("the slow completion to start streaming", async () => (await fakeStats(baseUrl)).completions_started >= 1);
  await page.screenshot({ path: PROGRESS_SCREENSHOT });
  await toast.hover();
  await toast.getByRole("button", { name: "Cancel" }).click();
  await toast.waitFor({ state: "hidden" });
  const stats = await waitFor("the server to close the cancelled stream", async () => {
    const current = await fakeStats(baseUrl);
    return current.completions_disconnected >= 1 ? current : undefined;
  });
  if (stats.completions_finished !== 0) {
    throw new Error(`the cancelled completion ran to the end (${stats.completions_finished} finished)`);
  }
  const models = new Set(completionRequests(stats).map((request) => request.body.model));
  if (models.size !== 1 || !models.has("fake-model-2")) {
    throw new Error(`the changed amplifier.model did not reach the server: models ${[...models]}`);
  }

  const text = await editorText(page);
  if (text.includes(SLOW_TEXT.split(" ").slice(0, 3).join(" "))) {
    throw new Error("text of the cancelled generation was inserted");
  }
  await waitFor("the status item to leave the busy state", async () =>
    (await page.locator(".statusbar-item", { hasText: "fake-model-2" }).first().locator(".codicon-loading").count()) === 0,
  );
  if ((await fs.promises.readFile(path.join(workspace, "draft.md"), "utf8")) !== saved) {
    throw new Error("draft.md changed on disk after the cancelled generation");
  }
  step("the generation was cancelled and its stream closed");
}

async function storeKeyAndContinue(page, workspace, baseUrl, userDataDir) {
  step("storing an API key with the Set the Anthropic API Key command");
  await setFakeScript(baseUrl, { default: { text: KEYED_TEXT, delay_ms: 5 }, require_api_key: API_KEY });
  await runPaletteCommand(page, "Amplifier: Set the Anthropic API Key");
  const keyInput = page.locator('.quick-input-widget input[type="password"]');
  await keyInput.waitFor({ state: "visible" });
  await keyInput.fill(API_KEY);
  await page.keyboard.press("Enter");

  step("waiting for the server to restart with the key in its environment");
  const spinner = page.locator(".statusbar-item", { hasText: "fake-model-2" }).first().locator(".codicon-loading");
  await waitFor("the status item to show the restart", async () => (await spinner.count()) > 0, 20_000, 50);
  await waitFor("the restarted server to be idle", async () => (await spinner.count()) === 0);

  step("running Continue This Section from the palette with the key");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  await runPaletteCommand(page, "Amplifier: Continue This Section");
  await waitFor("the continuation in the editor", async () => (await editorText(page)).includes("The bell rang twice"));
  await page.locator(".notification-toast", { hasText: "Continuing the section" }).waitFor({ state: "hidden" });

  const requests = completionRequests(await fakeStats(baseUrl));
  const authorizations = new Set(requests.map((request) => request.headers.authorization));
  if (authorizations.size !== 1 || !authorizations.has(`Bearer ${API_KEY}`)) {
    throw new Error(`the stored key did not reach the server: Authorization headers ${[...authorizations]}`);
  }
  for (const file of [path.join(workspace, ".vscode", "settings.json"), path.join(userDataDir, "User", "settings.json")]) {
    if (fs.readFileSync(file, "utf8").includes(API_KEY)) {
      throw new Error(`the API key was written to ${file}`);
    }
  }
  step("the key reached the server in its environment and no settings file");
}

async function exercise(page, url, workspace, baseUrl, userDataDir) {
  await openDraft(page, url, workspace);
  step("waiting for the status item to show the backend and model");
  await waitForStatusItem(page, "openai · fake-model");
  await acceptGhostText(page);
  await expandOutlineFromContextMenu(page);
  const saved = await saveAndCheckFile(page, path.join(workspace, "draft.md"));
  await checkRequestsSoFar(baseUrl);
  await changeModelAndCancel(page, workspace, baseUrl, saved);
  await storeKeyAndContinue(page, workspace, baseUrl, userDataDir);
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  for (const [what, file] of [["the .vsix", options.vsix], ["Python", options.python], ["code-server", options.codeServer], ["Chromium", CHROMIUM]]) {
    if (!fs.existsSync(file)) {
      throw new Error(`${what} not found at ${file}`);
    }
  }

  const root = fs.mkdtempSync(path.join(os.tmpdir(), "amplifier-e2e-"));
  const dirs = { root, userData: path.join(root, "user-data"), extensions: path.join(root, "extensions") };
  step(`working in ${root}`);

  let fake;
  let codeServer;
  let browser;
  let page;
  let passed = false;
  try {
    fake = await startFakeServer(options.python, root);
    step(`fake OpenAI server at ${fake.baseUrl}`);
    const workspace = writeWorkspace(root, { baseUrl: fake.baseUrl, python: options.python, cacheDir: path.join(root, "amplifier-cache") });
    writeUserSettings(dirs.userData);

    const env = codeServerEnvironment(root);
    installExtension(options, dirs, env);
    codeServer = await startCodeServer(options, dirs, workspace, env);
    step(`code-server at ${codeServer.url}`);

    browser = await chromium.launchPersistentContext(path.join(root, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT_MS);

    await exercise(page, codeServer.url, workspace, fake.baseUrl, dirs.userData);
    await page.screenshot({ path: SUCCESS_SCREENSHOT });
    step(`screenshot of the finished test: ${SUCCESS_SCREENSHOT}`);
    passed = true;
  } catch (error) {
    console.error(`FAILED: ${error.stack ?? error}`);
    if (page) {
      await page.screenshot({ path: FAILURE_SCREENSHOT }).catch(() => undefined);
      fs.copyFileSync(FAILURE_SCREENSHOT, path.join(root, "failure.png"));
      console.error(`screenshot of the failure: ${FAILURE_SCREENSHOT}`);
    }
    for (const log of ["code-server.log", "fake-openai.log"]) {
      const file = path.join(root, log);
      if (fs.existsSync(file)) {
        console.error(`--- last lines of ${log}:\n${fs.readFileSync(file, "utf8").split("\n").slice(-40).join("\n")}`);
      }
    }
    printExtensionLog(dirs.userData);
  } finally {
    await browser?.close().catch(() => undefined);
    await stopGroup(codeServer?.child);
    await stopGroup(fake?.child);
    if (passed && !options.keep) {
      fs.rmSync(root, { recursive: true, force: true });
    } else {
      console.error(`kept the working folder ${root}`);
    }
  }

  step(`finished in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  console.log(passed ? "vscode e2e: passed" : "vscode e2e: FAILED");
  process.exitCode = passed ? 0 : 1;
}

/** Print the extension's output channel, which VS Code writes under the user data folder. */
function printExtensionLog(userDataDir) {
  const logs = path.join(userDataDir, "logs");
  if (!fs.existsSync(logs)) {
    return;
  }
  const files = fs.readdirSync(logs, { recursive: true }).filter((name) => /Amplifier\.log$/.test(String(name)));
  for (const name of files) {
    const text = fs.readFileSync(path.join(logs, String(name)), "utf8");
    console.error(`--- ${name}:\n${text.split("\n").slice(-60).join("\n")}`);
  }
}

await main();
