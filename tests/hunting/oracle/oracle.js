// Microsoft's KQL parser as a syntax oracle: reads a JSON array of query texts on stdin and
// writes a JSON array of syntax-diagnostic messages (one list per query) on stdout.
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const queries = JSON.parse(input);
  const out = queries.map((text) => {
    const diagnostics = Kusto.Language.KustoCode.Parse(text).GetSyntaxDiagnostics();
    const count = diagnostics.Count || 0; // an empty list has no Count
    const messages = [];
    for (let i = 0; i < count; i++) {
      const d = diagnostics.getItem(i);
      messages.push(`${d.Message} @${d.Start}`);
    }
    return messages;
  });
  process.stdout.write(JSON.stringify(out));
});
