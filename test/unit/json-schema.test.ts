import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { validateConfig } from '../../src/config/validate.js';

// From dist*/test/unit/ to the repository root.
const ROOT = new URL('../../../', import.meta.url);
const PUBLISHED = fileURLToPath(new URL('wsgate.schema.json', ROOT));
const EXAMPLE = fileURLToPath(new URL('fixtures/wsgate.example.yaml', ROOT));

test('the published wsgate.schema.json is the schema generated from the valibot schema', () => {
  const generated = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if (process.env.WSGATE_UPDATE_SCHEMA === '1') writeFileSync(PUBLISHED, generated);
  assert.equal(
    readFileSync(PUBLISHED, 'utf8'),
    generated,
    'wsgate.schema.json is stale: run `npm run build && WSGATE_UPDATE_SCHEMA=1 node --test dist/test/unit/json-schema.test.js`',
  );
});

test('the schema describes routes for editors and holds no unresolved reference', () => {
  const schema = configJsonSchema() as { properties: { routes: { items: { properties: Record<string, { description?: string }> } } } };
  const text = JSON.stringify(schema);
  assert.ok(!text.includes('$ref') && !text.includes('$defs'));
  for (const key of ['path', 'host', 'headers', 'cookies', 'query', 'stickyCookie', 'sessionAffinity', 'hashOn', 'stripPrefix', 'rewritePrefix', 'default']) {
    assert.ok(schema.properties.routes.items.properties[key]?.description, key);
  }
});

test('the annotated example in fixtures/ is a valid configuration', () => {
  const config = validateConfig(parse(readFileSync(EXAMPLE, 'utf8')), 'fixtures/wsgate.example.yaml');
  assert.ok(config.routes.length >= 8);
});
