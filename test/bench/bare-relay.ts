// "bare" reference (opt-in, `--target bare`): the least a Node `net` relay can
// do per WebSocket, to show where Node's own floor is. No HTTP parsing, no
// validation, no routing by path (round robin over the pool), no logging, no
// keep-alive: the first chunk is sent to the backend as it came, the backend's
// first answer back, then bytes are relayed with pause/resume. Not a proxy
// anyone should run; a yardstick for wsgate's cost per handshake and message.
// usage: node bare-relay.js BACKEND_PORT1 BACKEND_PORT2 -> prints "READY <port>"
import net from 'node:net';
import { exitWithParent } from './lib/proc.js';

const pool = process.argv.slice(2).map(Number);
let next = 0;

const server = net.createServer({ noDelay: true }, (client) => {
  client.on('error', () => client.destroy());
  client.once('data', (head: Buffer) => {
    client.pause();
    const upstream = net.connect({ host: '127.0.0.1', port: pool[next++ % pool.length] ?? 0, noDelay: true });
    upstream.on('error', () => client.destroy());
    upstream.write(head);
    upstream.once('data', (answer: Buffer) => {
      client.write(answer);
      client.on('data', (d: Buffer) => void (upstream.write(d) || client.pause()));
      upstream.on('data', (d: Buffer) => void (client.write(d) || upstream.pause()));
      client.on('drain', () => upstream.resume());
      upstream.on('drain', () => client.resume());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.resume();
    });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as net.AddressInfo).port}\n`);
});

exitWithParent();
process.on('SIGTERM', () => process.exit(0));
