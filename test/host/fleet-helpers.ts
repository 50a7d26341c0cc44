// Shared by the fleet tests: a release key pair made for the test run, and
// publishing a version the way `fleet publish` does (signed, checked).
import { spawn } from "node:child_process"
import { createPrivateKey, createPublicKey } from "node:crypto"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"
import type { ArtifactStore } from "../../host/fleet/artifacts.ts"
import { publishVersion } from "../../host/fleet/publish.ts"
import { generateReleaseKeys, signRelease } from "../../host/fleet/signing.ts"
import type { FleetStore } from "../../host/fleet/storage.ts"

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
export function publishSigned(
    store: FleetStore,
    artifacts: ArtifactStore,
    name: string,
    image: Buffer
) {
    return publishVersion(store, artifacts, image, {
        name,
        signature: signRelease(image, releaseKeys.privateKey),
        releaseKey: releaseKeys.publicKey,
    }).version
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
