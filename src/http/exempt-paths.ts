/** Paths that neither the rate limit nor load shedding refuse: a load balancer's health checks must always be answered. */
const EXEMPT = /^\/health(?:[/?]|$)/;

export function isExemptPath(url: string): boolean {
  return EXEMPT.test(url);
}
