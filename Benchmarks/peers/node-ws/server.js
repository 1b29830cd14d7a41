'use strict';
// Benchmark peer: Node's `ws` (Debian package node-ws; NODE_PATH=/usr/share/nodejs) speaking
// the bench protocol: every text message received on /ws/broadcast, and the body of every
// POST /publish, goes to every /ws/broadcast client. Usage: node server.js PORT
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 9001);
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

function broadcast(data) {
  for (const client of wss.clients) {
    if (client.readyState === 1) client.send(data, { binary: false });
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      broadcast(Buffer.concat(chunks));
      res.writeHead(202, { 'Content-Type': 'application/json' });
      res.end('{"published":true}');
    });
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":{"code":"not_found"}}');
});

server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws/broadcast') {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) broadcast(data);
    });
  });
});

server.listen(port, '127.0.0.1', 4096, () => {
  console.log(`node ws ${require('ws/package.json').version} bench peer on http://127.0.0.1:${port}`);
});
