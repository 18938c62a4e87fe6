import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Whether an address is one a webhook may reach: a public unicast address. Loopback, private, link-local, unique
 * local, carrier-grade NAT, multicast, reserved and the like are not (IPv4-mapped IPv6 addresses as their IPv4).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/**
 * Why `url` may not be a webhook endpoint, or null when it may: unless private targets are allowed, its host must
 * resolve, and to public addresses only. Called when an endpoint is saved; the delivery checks the address it
 * connects to again, so a DNS change afterwards cannot point it inward.
 */
export async function targetProblem(url: URL, allowPrivate: boolean): Promise<string | null> {
  // With private targets allowed any address will do: there is nothing to look up for.
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
    } catch {
      return `${url.hostname} cannot be resolved`;
    }
  }
  const inward = addresses.find((address) => !isPublicAddress(address));
  return inward ? `${url.hostname} is a loopback, private or link-local address (${inward})` : null;
}
