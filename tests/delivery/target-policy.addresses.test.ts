import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../server/errors.js";
import { assertTargetUrlAllowed, createGuardedLookup, isForbiddenAddress } from "../../server/services/target-policy.js";

describe("isForbiddenAddress", () => {
  const forbidden: Array<[string, string]> = [
    ["127.0.0.1", "IPv4 loopback"],
    ["127.255.255.254", "IPv4 loopback, end of 127/8"],
    ["10.1.2.3", "RFC1918 10/8"],
    ["172.16.0.1", "RFC1918 172.16/12"],
    ["172.31.255.255", "RFC1918 172.16/12, last"],
    ["192.168.1.1", "RFC1918 192.168/16"],
    ["169.254.169.254", "cloud metadata (link-local)"],
    ["169.254.1.1", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.127.255.255", "carrier-grade NAT, last"],
    ["0.0.0.0", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.1", "multicast"],
    ["192.0.2.1", "documentation (reserved)"],
    ["198.18.0.1", "benchmarking (reserved)"],
    ["240.0.0.1", "class E (reserved)"],
    ["::", "IPv6 unspecified"],
    ["::1", "IPv6 loopback"],
    ["fe80::1", "IPv6 link-local"],
    ["fe80::1%eth0", "IPv6 link-local with zone"],
    ["fc00::1", "unique-local fc00::/7"],
    ["fd12:3456::1", "unique-local fd00::/8"],
    ["fd00:ec2::254", "AWS IPv6 metadata"],
    ["ff02::1", "IPv6 multicast"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
    ["::ffff:10.0.0.1", "IPv4-mapped private"],
    ["::ffff:169.254.169.254", "IPv4-mapped metadata"],
    ["::7f00:1", "IPv4-compatible (deprecated) loopback"],
    ["::808:808", "IPv4-compatible (deprecated), even when public"],
    ["2002:a00:1::", "6to4 embedding 10.0.0.1"],
    ["2002:7f00:1::1", "6to4 embedding 127.0.0.1"],
    ["2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo with client 10.0.0.1 (bit-inverted)"],
    ["2001:0:a00:1:8000:63bf:f7f7:f7f7", "Teredo with server 10.0.0.1"],
    ["64:ff9b::a00:1", "NAT64 embedding 10.0.0.1"],
    ["64:ff9b:1::808:808", "NAT64 local-use prefix"],
    ["2001:db8::1", "IPv6 documentation"],
    ["not-an-ip", "not an address (fails closed)"],
    ["", "empty (fails closed)"],
  ];
  const allowed: Array<[string, string]> = [
    ["8.8.8.8", "public IPv4"],
    ["1.1.1.1", "public IPv4"],
    ["172.32.0.1", "just past 172.16/12"],
    ["100.128.0.1", "just past 100.64/10"],
    ["11.0.0.1", "just past 10/8"],
    ["2606:4700:4700::1111", "public IPv6"],
    ["::ffff:8.8.8.8", "IPv4-mapped public"],
    ["2002:808:808::1", "6to4 embedding 8.8.8.8"],
    ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo with public server and client 8.8.8.8"],
    ["64:ff9b::808:808", "NAT64 embedding 8.8.8.8"],
  ];

  it.each(forbidden)("forbids %s (%s)", (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each(allowed)("allows %s (%s)", (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

function thrownBy(action: () => unknown): DomainError {
  try {
    action();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError, nothing was thrown");
}

describe("assertTargetUrlAllowed", () => {
  const strict = { allowPrivateTargets: false };
  const permissive = { allowPrivateTargets: true };

  it.each([
    "https://example.com/hook?x=1",
    "http://8.8.8.8:8080/path",
    "http://[2606:4700:4700::1111]/",
    "https://localhost.example.com/",
    "https://api.localhost.example.com/",
    "http://metadata.example.com/",
  ])("allows %s", (url) => {
    expect(assertTargetUrlAllowed(url, strict).href).toBe(new URL(url).href);
  });

  it.each([
    ["http://127.0.0.1/", "loopback literal"],
    ["http://2130706433/", "loopback as a decimal number"],
    ["http://0x7f.1/", "loopback in hex shorthand"],
    ["http://0177.0.0.1/", "loopback in octal"],
    ["http://127.1/", "loopback shorthand"],
    ["http://0/", "unspecified as a number"],
    ["http://[::1]:8080/", "IPv6 loopback"],
    ["http://[::ffff:7f00:1]/", "IPv4-mapped loopback"],
    ["http://[::ffff:127.0.0.1]/", "IPv4-mapped loopback, dotted"],
    ["http://169.254.169.254/latest/meta-data/", "AWS/GCP/Azure metadata"],
    ["http://[fd00:ec2::254]/latest/meta-data/", "AWS IPv6 metadata"],
    ["http://10.0.0.5/", "RFC1918"],
    ["http://localhost/", "localhost"],
    ["http://LOCALHOST:3000/", "localhost, upper case"],
    ["http://localhost./", "localhost with a trailing dot"],
    ["http://api.localhost/", "a .localhost subdomain"],
    ["http://metadata.google.internal/computeMetadata/v1/", "GCP metadata hostname"],
    ["http://metadata/", "short metadata hostname"],
    ["http://metadata.google.internal./", "GCP metadata hostname with a trailing dot"],
  ])("refuses %s (%s) with TARGET_NOT_ALLOWED on field url", (url) => {
    const error = thrownBy(() => assertTargetUrlAllowed(url, strict));
    expect(error.code).toBe("TARGET_NOT_ALLOWED");
    expect(error.field).toBe("url");
    expect(error.message).toMatch(/RUNLATER_ALLOW_PRIVATE_TARGETS/);
  });

  it("names the normalised address in its message", () => {
    expect(thrownBy(() => assertTargetUrlAllowed("http://0x7f.1/", strict)).message).toMatch(/^127\.0\.0\.1 is a private/);
    expect(thrownBy(() => assertTargetUrlAllowed("http://localhost/", strict)).message).toMatch(/^localhost names this machine/);
  });

  it.each([
    ["not a url", /absolute http/],
    ["/relative/path", /absolute http/],
    ["ftp://example.com/file", /must use http or https, got ftp/],
    ["file:///etc/passwd", /must use http or https, got file/],
    ["javascript:alert(1)", /must use http or https/],
    ["https://user:secret@example.com/", /must not contain credentials/],
    ["https://token@example.com/", /must not contain credentials/],
  ])("refuses %s with VALIDATION_FAILED on field url", (url, message) => {
    for (const options of [strict, permissive]) {
      const error = thrownBy(() => assertTargetUrlAllowed(url, options));
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(error.field).toBe("url");
      expect(error.message).toMatch(message);
    }
  });

  it("allows private targets when configured to", () => {
    expect(assertTargetUrlAllowed("http://localhost:3000/hook", permissive).port).toBe("3000");
    expect(assertTargetUrlAllowed("http://169.254.169.254/", permissive).hostname).toBe("169.254.169.254");
  });
});

describe("createGuardedLookup", () => {
  function lookupAll(hostname: string, allowPrivateTargets: boolean): Promise<LookupAddress[]> {
    return new Promise((resolve, reject) => {
      createGuardedLookup({ allowPrivateTargets })(hostname, { all: true }, (error, addresses) =>
        error ? reject(error) : resolve(addresses as LookupAddress[]),
      );
    });
  }

  function lookupOne(hostname: string, allowPrivateTargets: boolean): Promise<[string, number | undefined]> {
    return new Promise((resolve, reject) => {
      createGuardedLookup({ allowPrivateTargets })(hostname, {}, (error, address, family) =>
        error ? reject(error) : resolve([address as string, family]),
      );
    });
  }

  it("refuses a hostname that resolves to a private address", async () => {
    const error = await lookupAll("localhost", false).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: "TARGET_NOT_ALLOWED",
      message: expect.stringMatching(/^localhost resolves to/),
    });
    await expect(lookupOne("localhost", false)).rejects.toMatchObject({ code: "TARGET_NOT_ALLOWED" });
  });

  it("resolves like dns.lookup when private targets are allowed, in both callback shapes", async () => {
    expect(await lookupAll("localhost", true)).toContainEqual({ address: "127.0.0.1", family: 4 });
    const [address, family] = await lookupOne("localhost", true);
    expect(["127.0.0.1", "::1"]).toContain(address);
    expect([4, 6]).toContain(family);
  });

  it("passes DNS failures through unchanged", async () => {
    await expect(lookupAll("nonexistent.invalid", false)).rejects.toMatchObject({ code: "ENOTFOUND" });
  });
});
