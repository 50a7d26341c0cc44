// Shared by the fleet tests: a release key pair made for the test run,
// publishing a version the way `fleet publish` does (signed, checked), the
// fixture programs, a fleet in a temporary directory, and `fleet serve` as
// a child process on a prepared state directory. (No simulator here: the
// simulator's fleet helpers are in fleet-sim-helpers.ts.)
import { spawn } from "node:child_process"
import { createPrivateKey, createPublicKey } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { buildFirmware } from "../../host/lib/build.ts"
import { ArtifactStore } from "../../host/fleet/release/artifacts.ts"
import { newDeviceKey } from "../../host/fleet/device/protocol.ts"
import { publishVersion } from "../../host/fleet/release/publish.ts"
import { assign } from "../../host/fleet/rollout/actions.ts"
import {
    generateReleaseKeys,
    signRelease,
} from "../../host/fleet/release/signing.ts"
import { prepareStateDir } from "../../host/fleet/service/state-dir.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import type { FleetStore } from "../../host/fleet/store/types.ts"

/** A release key pair for tests (PEM texts and key objects). */
export function testReleaseKeys() {
    const pem = generateReleaseKeys()
    return {
        ...pem,
        privateKey: createPrivateKey(pem.privatePem),
        publicKey: createPublicKey(pem.publicPem),
    }
}

/** The key pair most tests share. */
export const releaseKeys = testReleaseKeys()

/** Publishes `image` as `name`, signed with the shared test key. */
export async function publishSigned(
    store: FleetStore,
    artifacts: ArtifactStore,
    name: string,
    image: Buffer
) {
    const { version } = await publishVersion(store, artifacts, image, {
        name,
        signature: signRelease(image, releaseKeys.privateKey),
        releaseKey: releaseKeys.publicKey,
    })
    return version
}

/** Registers device `id` (no groups, no platform id) with `key`; returns the key. */
export async function registerDevice(
    store: FleetStore,
    id: string,
    key: Buffer = newDeviceKey()
): Promise<Buffer> {
    await store.upsertDevice({
        id,
        key: key.toString("hex"),
        groups: [],
        platformId: "",
        createdAt: 0,
    })
    return key
}

/**
 * The real firmware (`src/main.ts`) built as each of `versions` (e.g.
 * "1.0.0"), published signed as `v<version>`.
 */
export async function publishFirmwareVersions(
    fleet: { store: FleetStore; artifacts: ArtifactStore },
    versions: string[]
) {
    for (const version of versions)
        await publishSigned(
            fleet.store,
            fleet.artifacts,
            `v${version}`,
            await buildFirmware("src/main.ts", { version })
        )
}

/** The fixture program `test/fixtures/fleet-app-<version>.ts`, built. */
export function buildFleetApp(version: "v1" | "v2"): Promise<Buffer> {
    return buildFirmware(`test/fixtures/fleet-app-${version}.ts`)
}

/** A fleet in a new temporary directory: its database and artifact store. */
export interface TempFleet {
    readonly dir: string
    readonly store: SqliteStore
    readonly artifacts: ArtifactStore
    /** Closes the database and deletes the directory. */
    remove(): Promise<void>
}

/** Makes a {@link TempFleet} in a directory named from `prefix`. */
export function tempFleet(prefix: string): TempFleet {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    const store = new SqliteStore(join(dir, "fleet.db"))
    return {
        dir,
        store,
        artifacts: new ArtifactStore(join(dir, "artifacts")),
        async remove() {
            await store.close()
            rmSync(dir, { recursive: true, force: true })
        },
    }
}

/** A state directory for `fleet serve` run as a child process. */
export interface ServiceState {
    /** The temporary directory holding `state/` and `release.pub`. */
    readonly dir: string
    /** The state directory. */
    readonly state: string
    /** The release public key file. */
    readonly pub: string
}

/**
 * Prepares a private state directory: `images` published signed (by
 * name), `devices` registered with their keys, version `assigned` rolled
 * out to all; and the release public key in a file beside it.
 */
export async function prepareServiceState(
    prefix: string,
    o: {
        images: Record<string, Buffer>
        devices: Record<string, Buffer>
        assigned: string
    }
): Promise<ServiceState> {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    const state = join(dir, "state")
    prepareStateDir(state)
    const store = new SqliteStore(join(state, "fleet.db"))
    const artifacts = new ArtifactStore(join(state, "artifacts"))
    for (const [name, image] of Object.entries(o.images))
        await publishSigned(store, artifacts, name, image)
    for (const [id, key] of Object.entries(o.devices))
        await registerDevice(store, id, key)
    await assign(store, o.assigned, { kind: "all" })
    await store.close()
    const pub = join(dir, "release.pub")
    writeFileSync(pub, releaseKeys.publicPem)
    return { dir, state, pub }
}

/**
 * `fleet serve` on a prepared state: the test release key, a free port, a
 * 50 ms hold, then `extra` arguments.
 */
export function serveState(
    s: ServiceState,
    extra: string[] = []
): Promise<ServiceProcess> {
    return startServiceProcess([
        "--state",
        s.state,
        "--release-key",
        s.pub,
        "--port",
        "0",
        "--hold-ms",
        "50",
        ...extra,
    ])
}

/** The fleet service as a child process (`npm run fleet -- serve`). */
export interface ServiceProcess {
    readonly pid: number
    readonly port: number
    /** Every stdout and stderr line so far. */
    readonly lines: string[]
    /** Resolves with the first line (from now or already seen) matching `re`. */
    waitForLine(re: RegExp, timeoutMs?: number): Promise<string>
    /** Resident memory now, bytes (from /proc). */
    rss(): number
    /** Sends `signal` and resolves when the process has exited. */
    stop(signal?: NodeJS.Signals): Promise<void>
    /** Resolves when it exits by itself, with its code. */
    readonly exited: Promise<number | null>
}

/** Starts `fleet serve ARGS...` and resolves once it listens. */
export async function startServiceProcess(
    args: string[],
    timeoutMs = 60_000
): Promise<ServiceProcess> {
    const child = spawn(
        process.execPath,
        ["--import", "tsx", "host/fleet/cli.ts", "serve", ...args],
        { stdio: ["ignore", "pipe", "pipe"] }
    )
    const lines: string[] = []
    const waiters: { re: RegExp; resolve: (l: string) => void }[] = []
    const onLine = (l: string) => {
        lines.push(l)
        if (process.env.FLEET_ECHO) console.log(`[service] ${l}`)
        for (const w of [...waiters])
            if (w.re.test(l)) {
                waiters.splice(waiters.indexOf(w), 1)
                w.resolve(l)
            }
    }
    createInterface({ input: child.stdout! }).on("line", onLine)
    createInterface({ input: child.stderr! }).on("line", onLine)
    const exited = new Promise<number | null>(r =>
        child.on("exit", code => r(code))
    )
    const waitForLine = (re: RegExp, ms = 30_000) => {
        const seen = lines.find(l => re.test(l))
        if (seen) return Promise.resolve(seen)
        return new Promise<string>((resolve, reject) => {
            const w = { re, resolve }
            waiters.push(w)
            const timer = setTimeout(() => {
                waiters.splice(waiters.indexOf(w), 1)
                reject(
                    new Error(
                        `service: no line ${re} within ${ms} ms; output:\n${lines.slice(-30).join("\n")}`
                    )
                )
            }, ms)
            exited.then(code => {
                clearTimeout(timer)
                if (waiters.includes(w))
                    reject(
                        new Error(
                            `service exited (${code}) before ${re}:\n${lines.slice(-30).join("\n")}`
                        )
                    )
            })
            const res = w.resolve
            w.resolve = l => {
                clearTimeout(timer)
                res(l)
            }
        })
    }
    const first = await waitForLine(
        /fleet service on wss?:\/\/[^:]+:(\d+)/,
        timeoutMs
    )
    const port = Number(/:(\d+)\//.exec(first)![1])
    return {
        pid: child.pid!,
        port,
        lines,
        waitForLine,
        rss() {
            const st = readFileSync(`/proc/${child.pid}/status`, "utf8")
            return Number(/VmRSS:\s+(\d+) kB/.exec(st)![1]) * 1024
        },
        async stop(signal: NodeJS.Signals = "SIGTERM") {
            if (child.exitCode === null && child.signalCode === null)
                child.kill(signal)
            await exited
        },
        exited,
    }
}
