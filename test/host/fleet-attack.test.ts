// Cheap attacks on the running service (`fleet serve` as a child process,
// so that its memory can be read): a thousand idle strangers from 64
// addresses reopening as fast as they are closed, over ws:// and wss://, do
// not keep a device from checking in; 200 devices behind one address all
// check in; a device that floods pings without reading the answers is
// closed, and the service's memory stays bounded. Every loop is bounded in
// count and time; all traffic stays on loopback.
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { rmSync, writeFileSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { join } from "node:path"
import { padImage } from "../../host/fleet/release/artifacts.ts"
import { FakeDevice } from "../../host/testkit/fake-device.ts"
import {
    AUTH_BYTES,
    Cmd,
    decodeHello,
    formatConnectionString,
    newDeviceKey,
    SecureChannel,
    sessionKey,
} from "../../host/fleet/device/protocol.ts"
import { createTlsMaterial } from "../../host/platform/certs.ts"
import {
    buildFleetApp,
    prepareServiceState,
    serveState,
    type ServiceProcess,
    type ServiceState,
} from "./fleet-helpers.ts"
import { encodeMaskedFrame, FrameDecoder } from "./raw-websocket.ts"

/** The bounds: a check-in under attack, and 200 devices behind one NAT. */
const CHECK_IN_MS = 5000
const NAT_MS = 60_000
const MB = 2 ** 20

const NAT_DEVICES = 200
let served: ServiceState
let v1: Buffer
let tls: ReturnType<typeof createTlsMaterial>
const keys: Record<string, Buffer> = {}

before(async () => {
    v1 = padImage(await buildFleetApp("v1"))
    keys.d1 = newDeviceKey()
    for (let i = 0; i < NAT_DEVICES; i++) keys[`n${i}`] = newDeviceKey()
    served = await prepareServiceState("fleet-attack-test-", {
        images: { v1 },
        devices: keys,
        assigned: "v1",
    })
    tls = createTlsMaterial()
    writeFileSync(join(served.dir, "cert.pem"), tls.cert)
    writeFileSync(join(served.dir, "key.pem"), tls.key, { mode: 0o600 })
})

after(() => rmSync(served.dir, { recursive: true, force: true }))

/** `fleet serve` on the shared state, over wss:// when `secure`. */
function serve(secure: boolean, extra: string[] = []) {
    return serveState(served, [
        ...(secure
            ? [
                  "--tls-cert",
                  join(served.dir, "cert.pem"),
                  "--tls-key",
                  join(served.dir, "key.pem"),
              ]
            : []),
        ...extra,
    ])
}

function device(
    svc: ServiceProcess,
    id: string,
    secure: boolean,
    from: string
) {
    return new FakeDevice({
        connectionString: formatConnectionString({
            host: "127.0.0.1",
            port: svc.port,
            path: `/wssk/${id}`,
            key: keys[id],
            tls: secure,
        }),
        program: v1,
        localAddress: from,
        ca: tls.ca,
    })
}

/**
 * One check-in: connects, proves the key and is asked for its hash. The
 * time from the connect call to the GetHash, or the reason it failed.
 */
async function checkIn(d: FakeDevice): Promise<number | string> {
    const t0 = performance.now()
    let askedAt: number | undefined
    const s = d.connect({
        onCommand: cmd => {
            if (cmd === Cmd.GetHash) askedAt ??= performance.now()
        },
    })
    const end = await within(s.ended, "a check-in", 60_000)
    if (!end.authenticated || askedAt === undefined) return end.reason
    return askedAt - t0
}

/**
 * Idle TCP connections from many loopback addresses (Linux routes all of
 * 127.0.0.0/8 to lo), each reopened as soon as the service closes it.
 */
class IdleFlood {
    private readonly open = new Set<Socket>()
    private stopped = false
    /** Connections opened, reopenings included. */
    opened = 0
    reopened = 0

    constructor(
        private readonly port: number,
        readonly addresses: string[],
        /** No more connections than this in all (a bound on the loop). */
        private readonly maxOpened = 5_000_000
    ) {}

    /** Opens `n` connections, spread over the addresses; resolves when all connected once. */
    async start(n: number) {
        const waits: Promise<void>[] = []
        for (let i = 0; i < n; i++)
            waits.push(this.openOne(this.addresses[i % this.addresses.length]))
        await within(Promise.all(waits), `${n} idle connections`, 60_000)
    }

    private openOne(addr: string): Promise<void> {
        if (this.stopped || this.opened >= this.maxOpened)
            return Promise.resolve()
        this.opened++
        const s = connect({
            host: "127.0.0.1",
            port: this.port,
            localAddress: addr,
        })
        this.open.add(s)
        s.on("error", () => {})
        s.on("data", () => {}) // reads and drops whatever the service says
        s.on("close", () => {
            this.open.delete(s)
            if (this.stopped) return
            this.reopened++
            setImmediate(() => void this.openOne(addr))
        })
        return new Promise(r => {
            s.once("connect", () => r())
            s.once("close", () => r())
        })
    }

    /** Connections held now. */
    get held() {
        return this.open.size
    }

    stop() {
        this.stopped = true
        for (const s of this.open) s.destroy()
    }
}

/** Samples the service's resident memory every 50 ms; `peak()` the highest. */
function rssSampler(svc: ServiceProcess) {
    let peak = svc.rss()
    const timer = setInterval(() => {
        try {
            peak = Math.max(peak, svc.rss())
        } catch {}
    }, 50)
    return {
        peak: () => Math.max(peak, svc.rss()),
        stop: () => clearInterval(timer),
    }
}

const attackers = Array.from({ length: 64 }, (_, i) => `127.0.0.${10 + i}`)

for (const [secure, extra, what] of [
    [false, [], "ws://, default limits"],
    [true, [], "wss://, default limits"],
    [
        false,
        ["--max-pending", "500"],
        "ws://, a table of 500: the attack overfills it",
    ],
    [
        true,
        ["--max-pending", "500"],
        "wss://, a table of 500: the attack overfills it",
    ],
] as const)
    test(`${what}: with 1000 idle strangers from 64 addresses reopening, a device checks in within 5 s, 20 times out of 20; memory grows by less than 100 MB`, async () => {
        const svc = await serve(secure, [...extra])
        const flood = new IdleFlood(svc.port, attackers)
        let rss: ReturnType<typeof rssSampler> | undefined
        try {
            // warm-up: the code paths of a check-in and of a stranger, once
            assert.equal(
                typeof (await checkIn(
                    device(svc, "d1", secure, "127.0.0.200")
                )),
                "number"
            )
            const before = svc.rss()
            rss = rssSampler(svc)
            await flood.start(1000)
            const times: number[] = []
            const failures: string[] = []
            for (let i = 0; i < 20; i++) {
                const r = await checkIn(
                    device(svc, "d1", secure, "127.0.0.200")
                )
                if (typeof r === "number") times.push(r)
                else failures.push(r)
            }
            const peak = rss.peak()
            const sorted = [...times].sort((a, b) => a - b)
            console.log(
                `${what}: ${times.length}/20 check-ins, ms: median ${sorted[9]?.toFixed(0)}, ` +
                    `max ${sorted[sorted.length - 1]?.toFixed(0)}; strangers held ${flood.held}, ` +
                    `opened ${flood.opened} (${flood.reopened} reopened); RSS ${(before / MB).toFixed(1)} MB, ` +
                    `peak ${(peak / MB).toFixed(1)} MB (+${((peak - before) / MB).toFixed(1)})`
            )
            assert.deepEqual(failures, [])
            for (const t of times)
                assert.ok(t < CHECK_IN_MS, `a check-in took ${t} ms`)
            assert.ok(
                peak - before < 100 * MB,
                `RSS grew by ${(peak - before) / MB} MB`
            )
            assert.ok(flood.held >= 400, `the attack held ${flood.held}`)
        } finally {
            rss?.stop()
            flood.stop()
            await svc.stop()
        }
    })

test("200 devices behind one address all check in within a minute", async () => {
    const svc = await serve(false)
    try {
        const t0 = performance.now()
        const results = await Promise.all(
            Array.from({ length: NAT_DEVICES }, (_, i) =>
                checkIn(device(svc, `n${i}`, false, "127.0.0.5"))
            )
        )
        const took = performance.now() - t0
        const failed = results.filter(r => typeof r !== "number")
        console.log(
            `${NAT_DEVICES} devices behind 127.0.0.5: ${NAT_DEVICES - failed.length} checked in, all within ${(took / 1000).toFixed(1)} s`
        )
        assert.deepEqual(failed, [])
        assert.ok(took < NAT_MS, `took ${took} ms`)
    } finally {
        await svc.stop()
    }
})

test("a device that floods pings and never reads the answers is closed (1008), logged once; memory grows by less than 20 MB", async () => {
    const svc = await serve(false)
    try {
        // warm-up
        assert.equal(
            typeof (await checkIn(device(svc, "d1", false, "127.0.0.1"))),
            "number"
        )
        const before = svc.rss()
        const rss = rssSampler(svc)
        let sent = 0
        try {
            const flooder = await authenticatedRaw(svc.port, "d1", keys.d1)
            // never reads again: the answers pile up on the service's side
            flooder.sock.pause()
            const ping = () =>
                encodeMaskedFrame(
                    0x2,
                    flooder.channel.seal(
                        Buffer.from([Cmd.PingCloud, 1, 2, 3, 4])
                    )
                )
            const until = Date.now() + 60_000
            let closed = false
            svc.waitForLine(/d1: .*messages a second/, 60_000).then(
                () => (closed = true),
                () => {}
            )
            // 400,000 pings (as in the finding), or until the service closes it
            while (sent < 400_000 && !closed && Date.now() < until) {
                const batch = Buffer.concat(Array.from({ length: 1000 }, ping))
                sent += 1000
                if (!flooder.sock.write(batch))
                    await Promise.race([
                        new Promise(r => flooder.sock.once("drain", r)),
                        new Promise(r => setTimeout(r, 200)),
                    ])
                if (flooder.sock.destroyed) break
            }
            const line = await svc.waitForLine(
                /d1: .*messages a second/,
                60_000
            )
            flooder.sock.resume()
            const code = await within(
                flooder.closeCode,
                "the flooder's close",
                30_000
            )
            const peak = rss.peak()
            console.log(
                `ping flood: ${sent} pings written; closed with ${code}; RSS ${(before / MB).toFixed(1)} MB, ` +
                    `peak ${(peak / MB).toFixed(1)} MB (+${((peak - before) / MB).toFixed(1)})`
            )
            assert.match(line, /closed/)
            assert.ok(code === 1008 || code === undefined, `close code ${code}`)
            assert.ok(
                peak - before < 20 * MB,
                `RSS grew by ${(peak - before) / MB} MB`
            )
            assert.equal(
                svc.lines.filter(l => /d1: .*messages a second/.test(l)).length,
                1
            )
        } finally {
            rss.stop()
        }
        // the device itself, well-behaved again, still checks in
        assert.equal(
            typeof (await checkIn(device(svc, "d1", false, "127.0.0.1"))),
            "number"
        )
    } finally {
        await svc.stop()
    }
})

/**
 * A raw websocket client that has proved `key` for `id`: its socket, its
 * channel, and the close code the service sends (undefined: none).
 */
async function authenticatedRaw(port: number, id: string, key: Buffer) {
    const sock = connect({ host: "127.0.0.1", port })
    sock.on("error", () => {})
    const nonce = randomBytes(16)
    const dec = new FrameDecoder(false)
    let head = Buffer.alloc(0)
    let upgraded = false
    let channel: SecureChannel | undefined
    let code: number | undefined
    let authed: () => void
    const ready = new Promise<void>(r => (authed = r))
    sock.on("data", (d: Buffer) => {
        if (!upgraded) {
            head = Buffer.concat([head, d])
            const end = head.indexOf("\r\n\r\n")
            if (end < 0) return
            upgraded = true
            d = head.subarray(end + 4)
        }
        for (const f of dec.push(d)) {
            if (f.opcode === 0x8) code = f.payload.readUInt16BE(0)
            if (f.opcode !== 0x2) continue
            if (!channel) {
                channel = new SecureChannel(
                    sessionKey(key, nonce, decodeHello(f.payload)!),
                    "device"
                )
                sock.write(
                    encodeMaskedFrame(
                        0x2,
                        channel.seal(Buffer.alloc(AUTH_BYTES))
                    )
                )
            } else authed()
        }
    })
    const closeCode = new Promise<number | undefined>(r =>
        sock.on("close", () => r(code))
    )
    sock.write(
        `GET /wssk/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n` +
            `Sec-WebSocket-Protocol: devs-key-${nonce.toString("hex")}\r\n\r\n`
    )
    await within(ready, "the raw client's authentication", 30_000)
    return { sock, channel: channel!, closeCode }
}

/** `p`, or a failure after `ms` (generous: a busy machine). */
function within<T>(p: Promise<T>, what: string, ms: number): Promise<T> {
    let timer: NodeJS.Timeout
    return Promise.race([
        p,
        new Promise<never>((_, reject) => {
            timer = setTimeout(
                () => reject(new Error(`timed out waiting for ${what}`)),
                ms
            )
        }),
    ]).finally(() => clearTimeout(timer))
}
