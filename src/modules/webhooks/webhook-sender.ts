import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isPublicAddress } from './webhook-targets';

/** How long a receiver has to answer, from the first byte sent to the last received. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** What is kept of an answer's body: nothing; at most this much is read before the connection is let go. */
const MAX_BODY_BYTES = 64 * 1024;

export interface SendResult {
  /** The receiver's HTTP status, when it answered. */
  status: number | null;
  durationMs: number;
  /** Why it did not succeed (no answer, a refused address, a non-2xx status); null on a 2xx. */
  error: string | null;
}

/**
 * Resolves like Node does, then refuses an address that is not public unless private targets are allowed: the check
 * is made on the address actually connected to, so a name that resolved outward when the endpoint was saved cannot
 * be pointed inward later (DNS rebinding).
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const usable = allowPrivate ? addresses : addresses.filter((entry) => isPublicAddress(entry.address));
      if (!usable.length) {
        return callback(new Error(`${hostname} resolves to a loopback, private or link-local address`), '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as (e: null, a: LookupAddress[]) => void)(null, usable);
      callback(null, usable[0].address, usable[0].family);
    });
  };
}

/** Connections kept open between deliveries (a receiver takes many in a row), each made through the guarded lookup. */
const agents = new Map<string, HttpAgent>();
function agentFor(protocol: string, allowPrivate: boolean): HttpAgent {
  const key = `${protocol}${allowPrivate}`;
  let agent = agents.get(key);
  if (!agent) {
    const options = { keepAlive: true, maxSockets: 64, lookup: guardedLookup(allowPrivate) };
    agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    agents.set(key, agent);
  }
  return agent;
}

/** Closes the kept connections (at shutdown). */
export function closeWebhookConnections(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

/**
 * POSTs `body` to `url` with `headers`: one attempt, no redirect followed (a 3xx is a failure), done within
 * {@link DELIVERY_TIMEOUT_MS}. Never throws: what went wrong is in the result.
 */
export function sendWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  allowPrivate: boolean,
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined = undefined;
    const finish = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, durationMs: elapsed(), error });
    };
    const target = new URL(url);
    // An IP literal is connected to without a lookup: checked here instead.
    if (!allowPrivate && isLiteralInward(target.hostname)) {
      return finish(null, `${target.hostname} is a loopback, private or link-local address`);
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        agent: agentFor(target.protocol, allowPrivate),
      },
      (response: IncomingMessage) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_BODY_BYTES) response.destroy();
        });
        const done = () => {
          const status = response.statusCode ?? null;
          const ok = status !== null && status >= 200 && status < 300;
          finish(status, ok ? null : `the receiver answered ${status}`);
        };
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    timer = setTimeout(() => {
      req.destroy();
      finish(null, `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`);
    }, DELIVERY_TIMEOUT_MS);
    req.on('error', (error: Error) => finish(null, error.message.slice(0, 500)));
    req.end(body);
  });
}

/** An IP literal in the URL (no lookup happens for one) that is not public. */
function isLiteralInward(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  return /^[\d.]+$|:/.test(host) && !isPublicAddress(host);
}
