// A thin client: it starts `fluxlint lsp` for SQL files and lets the
// server do everything (diagnostics, hover with the plan, code actions).
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  const command = vscode.workspace.getConfiguration("fluxlint").get("path") || "fluxlint";
  client = new LanguageClient(
    "fluxlint",
    "fluxlint",
    { command, args: ["lsp"] },
    { documentSelector: [{ scheme: "file", language: "sql" }] },
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
