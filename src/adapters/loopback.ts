/** Whether an endpoint is on this machine: such endpoints (emulators) need no AWS credentials. */
export function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}
