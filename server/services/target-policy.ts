/**
 * Target policy: which URLs Runlater may send requests to.
 *
 * A task's URL is chosen by an API client, so without a policy Runlater is an
 * open proxy into the network it runs in (SSRF): the database, the cloud
 * metadata service and its credentials, internal admin panels. Unless
 * `allowPrivateTargets` is set, only public unicast addresses are reachable.
 *
 * The policy is checked twice:
 * - at push time, `assertTargetUrlAllowed` gives the client an early, readable
 *   error for URLs that are visibly internal (IP literals, `localhost`, metadata
 *   hostnames). It does no DNS, so it cannot be the real defence;
 * - at connect time, `createGuardedLookup` checks every address a hostname
 *   resolves to, right before the socket connects. This is what defeats
 *   hostnames pointing at private addresses and DNS rebinding (a name that
 *   resolved to a public address at push time and a private one later).
 */
import dns from "node:dns";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { DomainError } from "../errors.js";

// Hostnames that resolve to internal services by convention, refused before any DNS.
const INTERNAL_HOSTNAMES = new Set(["localhost", "metadata", "metadata.google.internal", "instance-data"]);

const GLOBAL_UNICAST_IPV6 = ipaddr.IPv6.parseCIDR("2000::/3");
// RFC 6052's well-known NAT64 prefix; the rest of rfc6052 (64:ff9b:1::/48) is for local use.
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR("64:ff9b::/96");

/** The IPv4 address held in two consecutive 16-bit groups of an IPv6 address. */
function embeddedIPv4(address: ipaddr.IPv6, firstGroup: number, inverted = false): ipaddr.IPv4 {
  const mask = inverted ? 0xff : 0;
  const high = address.parts[firstGroup] ?? 0;
  const low = address.parts[firstGroup + 1] ?? 0;
  return new ipaddr.IPv4([(high >> 8) ^ mask, (high & 0xff) ^ mask, (low >> 8) ^ mask, (low & 0xff) ^ mask]);
}

function isForbiddenParsed(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.kind() === "ipv4") {
    // Everything ipaddr.js does not class as plain unicast: loopback, private,
    // link-local (169.254.169.254), CGNAT, broadcast, multicast, reserved, …
    return address.range() !== "unicast";
  }
  const v6 = address as ipaddr.IPv6;
  switch (v6.range()) {
    // Addresses that carry an IPv4 address and reach it: judge the IPv4 one.
    case "ipv4Mapped":
    case "rfc6145":
      return isForbiddenParsed(embeddedIPv4(v6, 6));
    case "rfc6052":
      return !v6.match(NAT64_WELL_KNOWN) || isForbiddenParsed(embeddedIPv4(v6, 6));
    case "6to4":
      return isForbiddenParsed(embeddedIPv4(v6, 1));
    case "teredo":
      // Teredo embeds the relay server (plain) and the client (bit-inverted).
      return isForbiddenParsed(embeddedIPv4(v6, 2)) || isForbiddenParsed(embeddedIPv4(v6, 6, true));
    case "unicast":
      // ipaddr.js calls anything unlisted unicast, including the deprecated
      // IPv4-compatible ::a.b.c.d; only 2000::/3 is actually allocated.
      return !v6.match(GLOBAL_UNICAST_IPV6);
    default:
      // loopback, unspecified, link-local, unique-local fc00::/7 (incl. the AWS
      // metadata fd00:ec2::254), multicast, site-local, documentation, …
      return true;
  }
}

/**
 * Whether a request to this IP address must be refused when private targets are
 * not allowed. Anything that is not a public unicast address is forbidden, and so
 * is anything that is not an IP address at all: the check fails closed.
 */
export function isForbiddenAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return true;
  return isForbiddenParsed(ipaddr.parse(ip));
}

/** The error for a host that is, or resolved to, a forbidden address. */
export function forbiddenAddressError(host: string, address: string): DomainError {
  const resolved = host === address ? "" : ` resolves to ${address}, which`;
  return new DomainError(
    "TARGET_NOT_ALLOWED",
    `${host}${resolved} is a private, loopback, link-local or otherwise non-public address; ` +
      "Runlater only sends requests to public addresses unless RUNLATER_ALLOW_PRIVATE_TARGETS is true",
    { field: "url" },
  );
}

/**
 * The push-time check of `assertTargetUrlAllowed` for a task's callback URLs
 * (`callbackUrl`, `onFailureUrl`), with errors naming their own field.
 */
export function assertCallbackTargetsAllowed(
  urls: { callbackUrl?: string | null; onFailureUrl?: string | null },
  options: { allowPrivateTargets: boolean },
): void {
  for (const field of ["callbackUrl", "onFailureUrl"] as const) {
    const url = urls[field];
    if (!url) continue;
    try {
      assertTargetUrlAllowed(url, options);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      throw new DomainError(error.code, error.message.replace(/^url\b/, field), { field, cause: error });
    }
  }
}

/**
 * Push-time check of a task's URL, synchronous and without DNS. Returns the
 * parsed URL, or throws a DomainError on field `url`: VALIDATION_FAILED when the
 * URL is malformed, not http(s) or carries credentials; TARGET_NOT_ALLOWED when
 * private targets are not allowed and the host is visibly internal.
 */
export function assertTargetUrlAllowed(rawUrl: string, options: { allowPrivateTargets: boolean }): URL {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new DomainError("VALIDATION_FAILED", `url must be an absolute http:// or https:// URL, got "${rawUrl}"`, {
      field: "url",
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new DomainError("VALIDATION_FAILED", `url must use http or https, got ${url.protocol.slice(0, -1)}`, {
      field: "url",
    });
  }
  if (url.username !== "" || url.password !== "") {
    throw new DomainError(
      "VALIDATION_FAILED",
      "url must not contain credentials (user:password@); send them in a header such as Authorization",
      { field: "url" },
    );
  }
  if (options.allowPrivateTargets) return url;

  // The WHATWG parser has already normalised numeric hosts (2130706433, 0x7f.1,
  // [::ffff:127.0.0.1]) to canonical IP literals, so they are checked as such.
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  // The WHATWG parser leaves an IP literal dotted decimal or bracketed; testing for that first spares
  // ordinary hostnames ipaddr.js's failed parse, which costs tens of microseconds (batch push checks 1,000 URLs).
  const ipLiteral = url.hostname.startsWith("[") || /^[\d.]+$/.test(host);
  if (ipLiteral && ipaddr.isValid(host)) {
    if (isForbiddenAddress(host)) throw forbiddenAddressError(url.hostname, url.hostname);
    return url;
  }
  const name = host.replace(/\.+$/, "");
  if (INTERNAL_HOSTNAMES.has(name) || name.endsWith(".localhost")) {
    throw new DomainError(
      "TARGET_NOT_ALLOWED",
      `${url.hostname} names this machine or a cloud metadata service; ` +
        "Runlater only sends requests to public hosts unless RUNLATER_ALLOW_PRIVATE_TARGETS is true",
      { field: "url" },
    );
  }
  return url;
}

/**
 * A `lookup` for `net.connect` / undici's `connect.lookup`: resolves with
 * `dns.lookup` and fails with a TARGET_NOT_ALLOWED DomainError when any
 * resolved address is forbidden, so the address checked is the address
 * connected to. Note that Node does not call `lookup` for IP-literal hosts;
 * the connector must check those itself.
 */
export function createGuardedLookup(options: { allowPrivateTargets: boolean }): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    // Resolve every address even when the caller wants one: a name that mixes a
    // public and a private address is refused as a whole.
    dns.lookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) {
        callback(error, []);
        return;
      }
      const forbidden = options.allowPrivateTargets ? undefined : addresses.find((entry) => isForbiddenAddress(entry.address));
      if (forbidden) {
        callback(forbiddenAddressError(hostname, forbidden.address), []);
        return;
      }
      const [first] = addresses;
      if (lookupOptions.all) {
        callback(null, addresses);
      } else if (first) {
        callback(null, first.address, first.family);
      } else {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), []);
      }
    });
  };
}
