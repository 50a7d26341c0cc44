/**
 * `npm run bench -- fleet --devices N [--db URL]`: the fleet service's
 * capacity. `fleet serve` runs as its own process (the real CLI, default
 * limits and hold), N protocol-level fake devices run in two other
 * processes (fleet-devices.ts), each device from its own loopback address.
 *
 * Three phases, timed from this process:
 * 1. steady check-ins: devices boot spread over one 32 s period and then
 *    follow the runtime's schedule, with v1.0.0 assigned to all (in sync);
 * 2. rollout: v2.0.0 (the real firmware, built now) assigned to 100 %,
 *    until every device has installed and verified it;
 * 3. herd: every device drops its connection and connects again at once
 *    (what a service restart looks like): handshakes per second.
 * Service CPU and peak RSS come from /proc/<pid>.
 */
import { fork, spawn, type ChildProcess } from "node:child_process"
import { createPrivateKey, createPublicKey } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { buildFirmware } from "../lib/build.ts"
import {
    ArtifactStore,
    assign,
    DEVICE_PATH,
    formatConnectionString,
    generateReleaseKeys,
    newDeviceKey,
    openFleetStore,
    padImage,
    parseScope,
    prepareStateDir,
    publishVersion,
    redactUrl,
    signRelease,
} from "../fleet/index.ts"
import type { Figure } from "./figures.ts"
import type { BenchDevice, CheckIn, ChildReport } from "./fleet-ipc.ts"
import { atOnce } from "./at-once.ts"
import { percentile } from "./percentile.ts"
import { fdLimits, forkWithRaisedLimit, withRaisedLimit } from "./fd-limit.ts"
import { cpuSeconds, listenOverflows, peakRssBytes } from "./proc-stats.ts"

export interface FleetBenchOptions {
    devices: number
    /** Passed to `fleet serve --db` (default: SQLite in the temporary state). */
    db?: string
    /** `fleet serve` processes on the one database (default 1); device i connects to instance i mod N. */
    instances?: number
    /** Device processes (default 2, more when the open-file limit asks for it). */
    processes?: number
    /** Steady phase length (default 40 s: every device checks in at least once). */
    steadyMs?: number
    /** Longest rollout waited for (default 15 min). */
    rolloutTimeoutMs?: number
    /** Passed to `fleet serve --max-deploys` (default: the service's). */
    maxDeploys?: number
    /** Extra `node` flags for the service (e.g. `--cpu-prof`). */
    serviceNodeFlags?: string[]
    log?: (line: string) => void
}

/** What one run measured. */
export interface FleetBenchResult {
    figures: Figure[]
    /** A row for the "Fleet capacity" table in docs/performance.md. */
    tableRow: string
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))
const round = (x: number, digits = 0) => Number(x.toFixed(digits))

/** Each device its own loopback address (all of 127/8 is the loopback on Linux). */
function loopbackAddress(i: number): string {
    return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`
}

/** Open files a process keeps beside its device sockets. */
const FDS_SPARE = 256

type Service = Awaited<ReturnType<typeof startService>>

/** `fleet serve` as a child process (open-file limit raised); resolves once it listens. */
async function startService(args: string[], nodeFlags: string[]) {
    const child = spawn(
        ...withRaisedLimit([
            ...nodeFlags,
            "--import",
            "tsx",
            "host/fleet/cli.ts",
            "serve",
            ...args,
        ]),
        { stdio: ["ignore", "pipe", "pipe"] }
    )
    const errors: string[] = []
    /** The service slowing its deploys (deploy-pace.ts): how often, how far. */
    const pace = { slowdowns: 0, lowest: Infinity }
    const port = await new Promise<number>((resolve, reject) => {
        const onLine = (l: string) => {
            const slowed = /deploys at once here: \d+ -> (\d+)/.exec(l)
            if (slowed) {
                pace.slowdowns++
                pace.lowest = Math.min(pace.lowest, Number(slowed[1]))
                return
            }
            const m = /^fleet service on wss?:\/\/[^:]+:(\d+)/.exec(l)
            if (m) resolve(Number(m[1]))
            if (/unexpected|error/i.test(l) && errors.length < 20)
                errors.push(l)
        }
        createInterface({ input: child.stdout! }).on("line", onLine)
        createInterface({ input: child.stderr! }).on("line", l => {
            errors.push(l)
            onLine(l)
        })
        child.once("exit", code =>
            reject(
                new Error(`fleet serve exited (${code}): ${errors.join("\n")}`)
            )
        )
    })
    const exited = new Promise<void>(r => child.once("exit", () => r()))
    return {
        pid: child.pid!,
        port,
        errors,
        pace,
        stop: async () => {
            child.kill("SIGINT")
            await exited
        },
    }
}

/** The device processes and what they have reported so far. */
class DeviceFleet {
    readonly checkIns: CheckIn[] = []
    readonly auths: number[] = []
    readonly updated: number[] = []
    readonly deployMs: number[] = []
    failedConnects = 0
    /** Each device process's loop delay, a 500 ms window at a time. */
    readonly loopDelays: { at: number; ms: number }[] = []
    readonly failures: Record<string, number> = {}
    private readonly children: ChildProcess[] = []

    constructor(devices: BenchDevice[], program: Buffer, processes: number) {
        const file = fileURLToPath(
            new URL("./fleet-devices.ts", import.meta.url)
        )
        for (let p = 0; p < processes; p++) {
            const child = fork(file, [], forkWithRaisedLimit())
            child.on("message", (m: ChildReport | { type: "ready" }) => {
                if (m.type === "report") this.add(m)
            })
            child.send({
                type: "init",
                devices: devices.filter((_, i) => i % processes === p),
                program: program.toString("base64"),
            })
            this.children.push(child)
        }
    }

    private add(r: ChildReport) {
        this.checkIns.push(...r.checkIns)
        this.auths.push(...r.auths)
        this.updated.push(...r.updated)
        this.deployMs.push(...r.deployMs)
        this.failedConnects += r.failedConnects
        this.loopDelays.push({ at: Date.now(), ms: r.loopDelayMs })
        for (const [k, n] of Object.entries(r.failures))
            this.failures[k] = (this.failures[k] ?? 0) + n
    }

    send(m: { type: "start"; spreadMs: number } | { type: "reconnect-all" }) {
        for (const c of this.children) c.send(m)
    }

    /** CPU seconds of the device processes. */
    cpu(): number {
        return this.children.reduce((s, c) => s + cpuSeconds(c.pid!), 0)
    }

    async stop() {
        const exits = this.children.map(
            c => new Promise<void>(r => c.once("exit", () => r()))
        )
        this.send({ type: "stop" } as never)
        await Promise.all(exits)
    }
}

/** Resolves when `done()` holds, polling; false after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs: number) {
    const end = Date.now() + timeoutMs
    while (!done()) {
        if (Date.now() > end) return false
        await sleep(250)
    }
    return true
}

/** Runs the three phases for `o.devices` devices and returns the figures. */
export async function fleetFigures(
    o: FleetBenchOptions
): Promise<FleetBenchResult> {
    const log = o.log ?? (() => {})
    const n = o.devices
    const dir = mkdtempSync(join(tmpdir(), "fleet-bench-"))
    const state = join(dir, "state")
    prepareStateDir(state)
    const limits = fdLimits()
    const perInstance = Math.ceil(n / (o.instances ?? 1))
    log(
        `open files: soft limit ${limits.soft}, hard ${limits.hard}; every process the bench starts runs with ` +
            `the hard limit (a service instance needs about ${perInstance + FDS_SPARE})` +
            (limits.hard < perInstance + FDS_SPARE
                ? `: TOO LOW, raise the hard limit (e.g. in /etc/security/limits.conf)`
                : "")
    )
    const keys = generateReleaseKeys()
    const privateKey = createPrivateKey(keys.privatePem)
    const releaseKey = createPublicKey(keys.publicPem)
    const pubFile = join(dir, "release.pub")
    writeFileSync(pubFile, keys.publicPem)

    log("building the firmware as 1.0.0 and 2.0.0")
    const v1 = await buildFirmware("src/main.ts", { version: "1.0.0" })
    const v2 = await buildFirmware("src/main.ts", { version: "2.0.0" })
    // the service's own database; on SQLite every instance shares the file
    // in the first state directory (each has a state directory of its own)
    const db = o.db ?? join(state, "fleet.db")
    const store = await openFleetStore(db)
    const artifacts = new ArtifactStore(join(state, "artifacts"))
    const publish = async (name: string, image: Buffer) =>
        (
            await publishVersion(store, artifacts, image, {
                name,
                signature: signRelease(image, privateKey),
                releaseKey,
            })
        ).version
    await publish("v1.0.0", v1)
    const ids = Array.from(
        { length: n },
        (_, i) => `bench-${String(i).padStart(5, "0")}`
    )
    const keysById = new Map<string, Buffer>()
    await store.atomically(async tx => {
        for (const id of ids) {
            const key = newDeviceKey()
            keysById.set(id, key)
            await tx.upsertDevice({
                id,
                key: key.toString("hex"),
                groups: [],
                platformId: "",
                createdAt: Date.now(),
            })
        }
    })
    await assign(store, "v1.0.0", { kind: "all" })

    const instances = o.instances ?? 1
    const services: Service[] = []
    for (let k = 0; k < instances; k++) {
        const own = k === 0 ? state : join(dir, `state-${k}`)
        if (k > 0) prepareStateDir(own)
        services.push(
            await startService(
                [
                    "--state",
                    own,
                    "--release-key",
                    pubFile,
                    "--port",
                    "0",
                    "--db",
                    db,
                    ...(o.maxDeploys !== undefined
                        ? ["--max-deploys", String(o.maxDeploys)]
                        : []),
                ],
                o.serviceNodeFlags ?? []
            )
        )
    }
    for (const s of services) log(`fleet serve: pid ${s.pid}, port ${s.port}`)
    const serviceCpu = () => services.reduce((t, s) => t + cpuSeconds(s.pid), 0)
    const cpu0 = serviceCpu()
    const overflows0 = listenOverflows()
    const devices: BenchDevice[] = ids.map((id, i) => ({
        id,
        localAddress: loopbackAddress(i),
        connectionString: formatConnectionString({
            host: "127.0.0.1",
            port: services[i % instances].port,
            path: DEVICE_PATH + id,
            key: keysById.get(id)!,
        }),
    }))
    const processes = Math.max(
        o.processes ?? 2,
        Math.ceil(n / Math.max(1, limits.hard - FDS_SPARE))
    )
    const fleet = new DeviceFleet(devices, padImage(v1), processes)
    try {
        // 1. steady check-ins
        const steadyMs = o.steadyMs ?? 40_000
        const t1 = Date.now()
        fleet.send({ type: "start", spreadMs: 32_000 })
        log(
            `steady: ${n} devices boot over 32 s; measuring ${steadyMs / 1000} s`
        )
        await sleep(steadyMs)
        const cpu1 = serviceCpu()
        const steadyCpuRate = (cpu1 - cpu0) / (steadyMs / 1000)
        const overflows1 = listenOverflows()

        // 2. rollout of v2.0.0 to 100 %
        await publish("v2.0.0", v2)
        const updatedBefore = fleet.updated.length
        await assign(store, "v2.0.0", parseScope("100%"))
        const tAssign = Date.now()
        log(`rollout: v2.0.0 (${v2.length} bytes) to 100 %`)
        const complete = await until(
            () => {
                const k = fleet.updated.length - updatedBefore
                return k >= n
            },
            o.rolloutTimeoutMs ?? 15 * 60_000
        )
        const tDone = Math.max(tAssign, ...fleet.updated.slice(updatedBefore))
        const updated = fleet.updated.length - updatedBefore
        const rolloutS = (tDone - tAssign) / 1000
        const cpu2 = serviceCpu()
        const overflows2 = listenOverflows()
        log(
            `rollout: ${updated}/${n} updated in ${rolloutS.toFixed(1)} s${complete ? "" : " (timed out)"}`
        )
        // a check-in is reported when its connection ends (a hold, 1.5 s, after it)
        await sleep(3000) // let the last verifications and holds end
        const steady = fleet.checkIns
            .filter(c => c.start >= t1 && c.start < t1 + steadyMs)
            .map(c => c.ms)
        const rolloutCheckIns = fleet.checkIns.filter(
            c => c.start >= tAssign && c.start < tDone
        )
        const duringRollout = rolloutCheckIns.map(c => c.ms)
        const rolloutPlain = rolloutCheckIns
            .filter(c => !c.deployed)
            .map(c => c.ms)
        const rolloutDeploying = rolloutCheckIns
            .filter(c => c.deployed)
            .map(c => c.ms)
        const rolloutDelays = fleet.loopDelays
            .filter(d => d.at >= tAssign && d.at < tDone)
            .map(d => d.ms)
        const rolloutAuth = rolloutCheckIns.map(c => c.authMs)
        const deploysAtOnce = atOnce(
            // the rollout's deploys: those after tDone (a timed-out run goes
            // on during the sleep above) are not in its span
            fleet.updated
                .slice(updatedBefore, updatedBefore + updated)
                .map((end, i) => [
                    end - fleet.deployMs[updatedBefore + i],
                    end,
                ]),
            tDone - tAssign
        )

        // 3. herd: everyone reconnects at once
        const authsBefore = fleet.auths.length
        const tHerd = Date.now()
        fleet.send({ type: "reconnect-all" })
        log("herd: every device reconnects at once")
        await until(() => fleet.auths.length - authsBefore >= n, 5 * 60_000)
        const herdAuths = fleet.auths.slice(authsBefore)
        const herdS = (Math.max(tHerd, ...herdAuths) - tHerd) / 1000
        // each check-in of the herd ends after its key is proved
        const herdCheckIns = () => fleet.checkIns.filter(c => c.start >= tHerd)
        await until(() => herdCheckIns().length >= herdAuths.length, 60_000)
        const herd = herdCheckIns().map(c => c.ms)
        const cpu3 = serviceCpu()
        const overflows3 = listenOverflows()
        const rssEach = services.map(s => peakRssBytes(s.pid))
        const rss = rssEach.reduce((t, r) => t + r, 0)
        const devicesCpu = fleet.cpu()

        const v2hash = (await store.versionByName("v2.0.0"))?.hash
        const onDisk = (await store.states()).filter(
            s => s.currentHash === v2hash
        ).length
        const storeName = o.db ? redactUrl(o.db) : "SQLite"
        const hs = herdAuths.length / herdS
        const perMin = rolloutS > 0 ? updated / (rolloutS / 60) : NaN
        const p = (v: number[], q: number) => round(percentile(v, q))
        const figures: Figure[] = [
            {
                name: "devices",
                value: n,
                unit: "",
                about: `store: ${storeName}; ${instances} fleet serve instance(s); ${processes} device processes`,
            },
            {
                name: "steady check-ins",
                value: steady.length,
                unit: "",
                about: `started in the first ${steadyMs / 1000} s, devices booting over 32 s`,
            },
            {
                name: "check-in p50",
                value: p(steady, 50),
                unit: "ms",
                about: "TCP connect to the answer after the hash check (steady)",
            },
            {
                name: "check-in p99",
                value: p(steady, 99),
                unit: "ms",
                about: "same, 99th percentile (target: < 1000)",
            },
            {
                name: "rollout check-in p99",
                value: p(duringRollout, 99),
                unit: "ms",
                about:
                    `${duringRollout.length} check-ins while the rollout ran (p50 ${p(duringRollout, 50)} ms); ` +
                    `until the key was proved: p50 ${p(rolloutAuth, 50)}, p99 ${p(rolloutAuth, 99)} ms`,
            },
            {
                name: "  without a deploy",
                value: p(rolloutPlain, 99),
                unit: "ms",
                about: `p99 of the ${rolloutPlain.length} that started no deploy (p50 ${p(rolloutPlain, 50)} ms); those that were deployed after (p99 ${p(rolloutDeploying, 99)} ms)`,
            },
            {
                name: "image",
                value: v2.length,
                unit: "bytes",
                about: "the firmware as 2.0.0, signed",
            },
            {
                name: "updated",
                value: updated,
                unit: "",
                about: `devices that installed and verified v2.0.0 (${onDisk} in the database)`,
            },
            {
                name: "rollout time",
                value: round(rolloutS, 1),
                unit: "s",
                about: "assign 100 % to the last verification (target: < 900 at 10,000 devices)",
            },
            {
                name: "updated per minute",
                value: round(perMin),
                unit: "/min",
                about: "updated / rollout time",
            },
            {
                name: "deploy p50",
                value: p(fleet.deployMs, 50),
                unit: "ms",
                about: `one device's deploy, DeployStart to the verification (p99 ${p(fleet.deployMs, 99)} ms)`,
            },
            {
                name: "deploys at once",
                value: round(deploysAtOnce.mean, 1),
                unit: "",
                about: `the mean over the rollout, as the devices saw them (most at once: ${deploysAtOnce.most})`,
            },
            {
                name: "CPU per deployed device",
                value: updated ? round(((cpu2 - cpu1) * 1000) / updated) : NaN,
                unit: "ms",
                about: `service CPU during the rollout / updated (max deploys at once: ${o.maxDeploys ?? "the service's default"})`,
            },
            {
                name: "deploy CPU per device",
                value: updated
                    ? round(
                          ((cpu2 - cpu1 - steadyCpuRate * rolloutS) * 1000) /
                              updated
                      )
                    : NaN,
                unit: "ms",
                about: `the same beyond the steady state's check-in load (${round(steadyCpuRate * 100)} % of a core): what the deploys cost`,
            },
            {
                name: "herd handshakes/s",
                value: round(hs),
                unit: "/s",
                about: `${herdAuths.length} devices reconnecting at once, until the last proved its key (${round(herdS, 1)} s)`,
            },
            {
                name: "herd check-in p99",
                value: p(herd, 99),
                unit: "ms",
                about: "check-ins of the herd (p50 " + p(herd, 50) + " ms)",
            },
            {
                name: "failed connects",
                value: fleet.failedConnects,
                unit: "",
                about:
                    Object.entries(fleet.failures)
                        .map(([k, v]) => `${v} ${k}`)
                        .join("; ") || "none",
            },
            {
                name: "deploy pace slowdowns",
                value: services.reduce((t, s) => t + s.pace.slowdowns, 0),
                unit: "",
                about: `times the service halved its deploys at once for its load (a late event loop or a busy core)${services.some(s => s.pace.slowdowns) ? ` (lowest: ${Math.min(...services.map(s => s.pace.lowest))})` : ""}`,
            },
            {
                name: "device processes' loop delay",
                value: p(rolloutDelays, 50),
                unit: "ms",
                about: `during the rollout, the median of each 500 ms window's 99th percentile (max ${p(rolloutDelays, 100)} ms): a check-in the fake devices time includes it`,
            },
            {
                name: "accept queue overflows",
                value: overflows3! - overflows0!,
                unit: "",
                about:
                    overflows0 === undefined
                        ? "not readable here (/proc/net/netstat)"
                        : `connection attempts the kernel dropped, the accept queue full (steady ${overflows1! - overflows0}, rollout ${overflows2! - overflows1!}, herd ${overflows3! - overflows2!}); each retried by TCP 1, 3, 7 ... s later`,
            },
            {
                name: "service peak RSS",
                value: round(rss / 2 ** 20),
                unit: "MiB",
                about:
                    instances > 1
                        ? `VmHWM summed over the instances (${rssEach.map(r => round(r / 2 ** 20)).join(" + ")} MiB)`
                        : "VmHWM of fleet serve",
            },
            {
                name: "service CPU",
                value: round(cpu3 - cpu0, 1),
                unit: "s",
                about: `steady ${round(cpu1 - cpu0, 1)}, rollout ${round(cpu2 - cpu1, 1)}, herd ${round(cpu3 - cpu2, 1)}`,
            },
            {
                name: "device processes CPU",
                value: round(devicesCpu, 1),
                unit: "s",
                about: "the fake fleet, on the same 2 cores",
            },
        ]
        for (const s of services)
            if (s.errors.length)
                log(`service errors (pid ${s.pid}):\n${s.errors.join("\n")}`)
        const tableRow =
            `| ${n} | ${o.db ? "PostgreSQL" : "SQLite"}${instances > 1 ? `, ${instances} instances` : ""} | ${round(hs)} | ${p(steady, 50)} / ${p(steady, 99)} ms | ` +
            `${round(perMin)} | ${round(rolloutS)} s | ${round(rss / 2 ** 20)} MiB | ${round(cpu3 - cpu0, 1)} s |`
        return { figures, tableRow }
    } finally {
        await fleet.stop()
        for (const s of services) await s.stop()
        await store.close()
        if (!process.env.BENCH_KEEP)
            rmSync(dir, { recursive: true, force: true })
        else log(`kept ${dir}`)
    }
}
