/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every
 * line is a comment (# HELP, # TYPE) or a sample `name{label="value",...} value`,
 * label values with \\, \" and \n escapes. parse-prometheus-text-format, the
 * npm package for this, drops the labels, _sum and _count of labelled
 * histograms (checked with 1.1.1), which are what the metrics tests count.
 */
import assert from 'node:assert/strict';

export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusText {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly PrometheusSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)",?/y;

export function parsePrometheusText(text: string): PrometheusText {
  const types = new Map<string, string>();
  const samples: PrometheusSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type !== null) types.set(type[1] as string, type[2] as string);
      else assert.match(line, /^# HELP \S+ /, `a comment line is HELP or TYPE: ${line}`);
      continue;
    }
    const match = SAMPLE.exec(line);
    assert.ok(match !== null, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body);
      assert.ok(label !== null, `labels of ${line}`);
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : Number(match[3]);
    assert.ok(!Number.isNaN(value) || match[3] === 'NaN', `the value of ${line}`);
    samples.push({ name: match[1] as string, labels, value });
  }
  return { types, samples };
}

/** The sum of a counter's or gauge's samples whose labels include `labels`, or a histogram's observation count; 0 when none. */
export function figure(metrics: PrometheusText, name: string, labels: Record<string, string> = {}): number {
  const type = metrics.types.get(name);
  assert.ok(type !== undefined, `${name} is exported`);
  const sampleName = type === 'histogram' ? `${name}_count` : name;
  return metrics.samples
    .filter((sample) => sample.name === sampleName && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}
