import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../errors.js';

/** A config file read but not yet validated: its raw value, and where each path inside it was written. */
export interface ConfigFile {
  /** The path as the user gave it; problems are reported against it. */
  readonly name: string;
  readonly raw: unknown;
  /** "line:column" of the value at `path` (or of its nearest written parent). */
  locate(path: ReadonlyArray<string | number>): string | undefined;
}

/**
 * Reads a YAML or JSON file (YAML 1.2 is a superset of JSON, so one parser
 * reads both, with line numbers for each). Throws ConfigError naming the file
 * when it cannot be read, is not valid YAML/JSON, or is empty.
 */
export function readConfigFile(name: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(name, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name}: cannot read the config file: ${(error as Error).message}`);
  }
  const lines = new LineCounter();
  // uniqueKeys (the default) makes a repeated key an error rather than a silent override.
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => {
      const at = lines.linePos(error.pos[0]);
      return `${name}:${at.line}:${at.col}: not valid YAML or JSON: ${error.message.split('\n')[0]}`;
    });
    throw new ConfigError(problems.join('\n'), problems);
  }
  if (document.contents === null) throw new ConfigError(`${name}: the config file is empty`);
  return { name, raw: document.toJS(), locate: (path) => locate(document, lines, path) };
}

function locate(document: Document, lines: LineCounter, path: ReadonlyArray<string | number>): string | undefined {
  for (let length = path.length; length >= 0; length--) {
    const node = document.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) {
      const at = lines.linePos(node.range[0]);
      return `${at.line}:${at.col}`;
    }
  }
  return undefined;
}
