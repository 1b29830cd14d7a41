// Compiled (not run) by CI with `tsc -p tests/types`: the declarations in web/orderpush.d.ts
// type a realistic use of the client, and refuse misuse (the @ts-expect-error lines).
import { connect, OrderPushClient, OrderPushError, STATES, type OrderEvent, type State, type Transport } from '../../web/orderpush.js';

const client: OrderPushClient = connect({
  token: () => 'jwt',
  url: 'wss://push.example.com/ws',
  transport: 'auto',
  onState: (state: State, info) => console.log(state, info.failures, info.retryInMs ?? 0),
  onTransport: (transport: Transport) => console.log(transport ?? 'none'),
  onError: (error: OrderPushError) => console.log(error.code, error.status, error.channel),
  onResync: (channel: string) => console.log(channel),
  pollIntervalMs: 5000,
});

const stop: () => void = client.subscribe('user:u42', (event: OrderEvent) => {
  const seq: number = event.seq;
  const status: string = event.order.tracking.status;
  const last = event.order.tracking.history[event.order.tracking.history.length - 1];
  console.log(seq, status, last?.at, event.order.total, event.event === 'tracking.updated');
}, { since: 10, epoch: 'e', onResync: () => {} });
stop();
client.subscribe('admin', () => {});

const transport: 'websocket' | 'sse' | 'polling' | null = client.transport;
const state: State = client.state;
const seq: number | null = client.lastSeq('admin');
console.log(transport, state, seq, STATES.includes('live'));
client.unsubscribe('admin');
client.close();

// @ts-expect-error a token is required
connect({});
// @ts-expect-error not a transport
connect({ token: 't', transport: 'carrier-pigeon' });
// @ts-expect-error the transport is read-only
client.transport = 'sse';
// @ts-expect-error events have a numeric seq
const wrong: string = ({} as OrderEvent).seq;
console.log(wrong);
