// DNS-rebinding defence for `dpo serve`: a server on a loopback address answers only requests whose
// Host header names a loopback host (or one the user allowed with --allowed-host). A web page on
// another site can make a browser send requests to 127.0.0.1 under its own name; without this check it
// could then read the model's answers. A server the user binds elsewhere (--host) is not checked:
// that is an explicit choice to be reached under other names (and the API key guards it).

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether an address the server listens on is loopback-only. */
export function isLoopbackAddress(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host name of a Host header, without its port ("[::1]:8000" -> "[::1]", "a.b:80" -> "a.b"). */
export function hostNameOf(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.replace(/:\d*$/, '');
}

/**
 * Undefined when the request may be served; otherwise why not. `listen`: the address the server is
 * bound to; `allowed`: extra host names accepted (lower-cased, without ports).
 */
export function hostRefusal(listen: string, header: string | undefined, allowed: readonly string[] = []): string | undefined {
  if (!isLoopbackAddress(listen)) return undefined;
  // HTTP/1.1 requires Host; a request without one does not come from a browser.
  if (header === undefined) return undefined;
  const name = hostNameOf(header);
  if (LOOPBACK_NAMES.has(name) || /^127\.\d+\.\d+\.\d+$/.test(name) || allowed.map((a) => a.toLowerCase()).includes(name)) return undefined;
  return `Host "${header}" is not served: this server listens on ${listen} and answers only to localhost, 127.0.0.1 and [::1] (a defence against DNS rebinding); to reach it under another name, start dpo serve with --allowed-host ${name}`;
}
