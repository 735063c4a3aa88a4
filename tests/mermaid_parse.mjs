// Parses Mermaid diagrams with the `mermaid` package, headless (jsdom gives DOMPurify its window).
// Run with the working directory holding node_modules/{mermaid,jsdom}; reads a JSON array of
// diagram texts on stdin, prints a JSON array: per diagram, whether it parsed, its type and, for a
// gantt, its title, sections and tasks with their dates (computed: a bad date is an error too).
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    const entry = { ok: true, type: parsed.diagramType };
    if (parsed.diagramType === "gantt") {
      const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
      const db = diagram.db;
      entry.title = db.getDiagramTitle();
      entry.sections = db.getSections();
      entry.tasks = db.getTasks().map((t) => ({
        section: t.section, task: t.task.trim(), id: t.id, crit: Boolean(t.crit),
        start: t.startTime.getTime(), end: t.endTime.getTime(),
      }));
    }
    out.push(entry);
  } catch (error) {
    out.push({ ok: false, error: String(error && error.message ? error.message : error) });
  }
}
process.stdout.write(JSON.stringify(out));
