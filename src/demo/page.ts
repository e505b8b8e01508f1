/** The page `wsgate demo` shows a browser: it opens a WebSocket through the gateway and echoes a message a second. */
export function demoPage(backendId: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>wsgate demo</title>
<style>body{font:15px system-ui,sans-serif;margin:2em}li{font-family:monospace}</style></head>
<body><h1>wsgate demo</h1>
<p>This page was served by backend <b id="page-backend">${backendId}</b> through wsgate.</p>
<p id="status">connecting…</p><ul id="log"></ul>
<script>
const url = location.origin.replace(/^http/, 'ws') + location.pathname;
const ws = new WebSocket(url);
const status = document.getElementById('status');
const log = document.getElementById('log');
let n = 0;
ws.onopen = () => { status.textContent = 'WebSocket open to ' + url; ws.send('whoami'); };
ws.onmessage = (event) => {
  const item = document.createElement('li');
  item.textContent = event.data;
  log.prepend(item);
  while (log.children.length > 10) log.lastChild.remove();
};
ws.onclose = (event) => { status.textContent = 'closed with code ' + event.code; };
setInterval(() => { if (ws.readyState === 1) ws.send('message ' + (++n)); }, 1000);
</script></body></html>
`;
}
