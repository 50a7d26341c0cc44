/**
 * Runs firmware in the DeviceScript simulator outside test mode (real
 * sockets, normal GC, persistent flash), provisioned the way a USB-connected
 * board is: `devs devtools` compiles the program and deploys the bytecode
 * plus the `.env.defaults` settings to the simulated device (`devs vm`).
 *
 * ```ts
 * import { startSim } from "./sim.ts"
 * await using sim = await startSim({
 *     entry: "src/main.ts",
 *     settings: { DEVICE_NAME: "dev1", DEVICE_SECRET: "s3cr3t" },
 *     flashFile: "/tmp/scenario-a.bin",
 *     clearFlash: true,
 *     env: { NODE_EXTRA_CA_CERTS: caFile },
 * })
 * await sim.waitForLine(/accepted/, 30_000)
 * await sim.restart() // reboot: same flash, no redeploy
 * await sim.waitForLine(/token reused/)
 * ```
 *
 * How it works (all measured with @devicescript/cli 2.16.4):
 * - The CLI reads `.env.defaults`/`.env.local`, `devsconfig.json` and writes
 *   `.devicescript/` relative to its working directory only, so each session
 *   runs in a temporary "shadow" project: a directory that symlinks every
 *   top-level entry of the repository except `.env*`, `.devicescript` and
 *   `.git`, plus its own `.env.defaults` holding the session's settings. A
 *   user's own `.env.local` in the repository is never read or touched.
 * - The flash image is `<cwd>/.devicescript/flash/sim.bin` of the VM
 *   process; in the shadow project that path is a symlink to the session's
 *   `flashFile`, so any file location works.
 * - Builds are requested over the dev tools side channel
 *   (`{"req":"build"}` on ws://127.0.0.1:8081, what the VS Code extension
 *   does): no file watching, no touching sources.
 * - Deploys do not go through dev tools: this process sends the compiled
 *   `.devicescript/bin/bytecode.devs` and the settings over the dev tools
 *   Jacdac TCP port 8082, with the packets dev tools would send
 *   (`sim-deploy.ts`), once the device announces itself, retrying with
 *   backoff and without compiling again. Dev tools' own deploy compiles
 *   first, and on a loaded machine a compile longer than 3 s makes its bus
 *   drop the device the deploy then waits on (every try: deploy timeouts).
 * - Only one session can exist per machine: the dev tools server always
 *   listens on 127.0.0.1:8081, 8082 and 8083.
 * - `SIM_TRACE=1` in the environment prints every tool and device line with
 *   the milliseconds since `startSim` to stderr.
 */
import { spawn, type ChildProcess } from "node:child_process"
import {
    existsSync,
    mkdirSync,
    readFileSync,
    rmSync,
    symlinkSync,
    writeFileSync,
} from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, isAbsolute, join, relative, resolve } from "node:path"
import { createInterface } from "node:readline"
import { devsCli, projectRoot, shadowProject } from "./devs.ts"
import { deployToSim } from "./sim-deploy.ts"
import { connectWebSocket, type MiniWebSocket } from "./sim-ws.ts"

/** Ports the dev tools server always uses (dashboard/ws, Jacdac TCP, debugger). */
export const SIM_PORTS = [8081, 8082, 8083] as const

// the runtime's settings limits, from the firmware's settings schema
import { MAX_SETTING_BYTES, MAX_SETTING_KEY } from "../src/settings-schema.ts"
export { MAX_SETTING_BYTES, MAX_SETTING_KEY }

export interface SimOptions {
    /** Firmware entry file, absolute or relative to the repository root; must lie inside the repository. */
    entry: string
    /**
     * Device settings, key → string value, written over the settings
     * service like dev tools does on a real board, and read on the device
     * with `readSetting(key)` (a string).
     * Settings are only ever added or overwritten, never deleted: keys
     * stored in flash by an earlier deploy or by the program stay. Any
     * string works (including `#`, quotes, newlines, "123"); keys are
     * `[A-Za-z0-9_]`, at most 13 long; WIFI_SSID/WIFI_PWD are refused (dev
     * tools sends those to the Wi-Fi service, not to settings).
     */
    settings?: Record<string, string>
    /**
     * Flash image of the device. Default: a file in the session's
     * temporary directory, fresh at every `startSim` and deleted by `stop`.
     * Give a path to keep flash across sessions or to separate scenarios.
     */
    flashFile?: string
    /** Delete `flashFile` before the first boot (an erased board). */
    clearFlash?: boolean
    /** Extra environment for the device process, e.g. `NODE_EXTRA_CA_CERTS`. */
    env?: Record<string, string>
    /** Called for every device log line (the `WASM> ` prefix removed). */
    onLine?: (line: string) => void
    /** Print device lines to stdout as they come. */
    echo?: boolean
    /** Limit for dev tools + VM + build + deploy. Default 60 s. */
    bootTimeoutMs?: number
    /**
     * While another simulator session holds the ports, keep polling this
     * long before failing. Default 0: fail at once with a clear message.
     */
    waitForPortsMs?: number
}

export interface SimSession {
    /** The temporary shadow project the CLI runs in. */
    readonly dir: string
    /** The flash image in use. */
    readonly flashFile: string
    /** Every device line since `startSim`, in order. */
    readonly lines: readonly string[]
    /** Milliseconds `startSim` took until the deployed program started. */
    readonly bootMs: number
    /**
     * Waits for the next device line matching `re`, searching from a cursor
     * that starts at the current boot and moves past each match, so
     * successive calls expect lines in order. Rejects on timeout (default
     * 30 s), when the device process dies or the runtime aborts, and when
     * the session stops, quoting the recent device and tool output.
     */
    waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
    /** Device lines from now on, until the session stops. */
    follow(): AsyncIterableIterator<string>
    /**
     * Reboots the device: kills the VM process and starts it again on the
     * same flash. The program and settings in flash start by themselves (no
     * redeploy). Resolves when the program has started; the line cursor is
     * moved to the start of the new boot.
     */
    restart(): Promise<void>
    /**
     * Rebuilds the entry file and deploys it with `settings` (default: the
     * current ones), like reflashing a board over USB. The program restarts.
     */
    deploy(settings?: Record<string, string>): Promise<void>
    /** Stops the device and dev tools and deletes the temporary directory. */
    stop(): Promise<void>
    [Symbol.asyncDispose](): Promise<void>
}

/** Renders settings as an env file the CLI parses back to exactly these strings. */
export function settingsToEnv(settings: Record<string, string>): string {
    let out = ""
    for (const [key, value] of Object.entries(settings)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
            throw new RangeError(
                `setting key ${JSON.stringify(key)}: use [A-Za-z0-9_]`
            )
        if (key === "WIFI_SSID" || key === "WIFI_PWD")
            throw new RangeError(`setting ${key}: not stored as a setting`)
        if (key.length > MAX_SETTING_KEY)
            throw new RangeError(
                `setting key ${key}: at most ${MAX_SETTING_KEY} characters`
            )
        if (typeof value !== "string")
            throw new TypeError(`setting ${key}: value must be a string`)
        // JSON-quoted so "123" stays a string; the CLI drops any line with
        // `#`, so that character is written as a JSON escape.
        const json = JSON.stringify(value).replace(/#/g, "\\u0023")
        const stored =
            Buffer.byteLength(key) +
            1 +
            Buffer.byteLength(JSON.stringify(value))
        if (stored > MAX_SETTING_BYTES)
            throw new RangeError(
                `setting ${key}: ${stored} bytes, at most ${MAX_SETTING_BYTES} (key + 1 + JSON value)`
            )
        out += `${key}=${json}\n`
    }
    return out
}

// ---------------------------------------------------------------------------
// processes

/** Process groups started by this module and not yet reaped. */
const liveGroups = new Set<number>()
/** Temporary project directories of sessions not yet stopped. */
const liveDirs = new Set<string>()
let activeSession: SimSession | undefined
let starting = false
let hooksInstalled = false

/** Synchronous last-resort cleanup (process exit, signals). */
function cleanupNow() {
    for (const pid of liveGroups) killGroup(pid, "SIGKILL")
    liveGroups.clear()
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true })
    liveDirs.clear()
}

function killGroup(pid: number, signal: NodeJS.Signals) {
    try {
        process.kill(-pid, signal)
    } catch {}
}

function onSignal(signal: NodeJS.Signals) {
    cleanupNow()
    // keep the default behaviour (exit) when nobody else handles the signal
    if (process.listenerCount(signal) <= 1) {
        process.removeAllListeners(signal)
        process.kill(process.pid, signal)
    }
}

function installHooks() {
    if (hooksInstalled) return
    hooksInstalled = true
    process.on("exit", cleanupNow)
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
        process.on(s, onSignal)
}

/**
 * Preloaded into every CLI process: its stdin is a pipe from us that we never
 * close, so end-of-file means this process died (even by SIGKILL) and the
 * child must not outlive it.
 */
const parentGuard =
    "data:text/javascript," +
    encodeURIComponent(
        'process.stdin.on("end",()=>process.exit(0));process.stdin.on("error",()=>process.exit(0));process.stdin.resume()'
    )

interface CliProcess {
    child: ChildProcess
    exited: Promise<number | null>
    stop(): Promise<void>
}

/** Starts `devs ARGS` in its own process group, one callback per output line. */
function startCli(
    args: string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
    onLine: (line: string, stream: "out" | "err") => void
): CliProcess {
    installHooks()
    const child = spawn(
        process.execPath,
        ["--import", parentGuard, devsCli, "--no-colors", ...args],
        { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] }
    )
    const pid = child.pid!
    liveGroups.add(pid)
    let code: number | null | undefined = undefined
    const exited = new Promise<number | null>(res =>
        child.on("exit", c => {
            code = c
            res(c)
        })
    )
    // the group may hold nothing more once the leader is gone
    child.on("close", () => liveGroups.delete(pid))
    createInterface({ input: child.stdout! }).on("line", l => onLine(l, "out"))
    createInterface({ input: child.stderr! }).on("line", l => onLine(l, "err"))
    return {
        child,
        exited,
        async stop() {
            if (code === undefined) {
                killGroup(pid, "SIGTERM")
                const t = setTimeout(() => killGroup(pid, "SIGKILL"), 2000)
                await exited
                clearTimeout(t)
            }
            killGroup(pid, "SIGKILL") // anything left in the group
            liveGroups.delete(pid)
            child.stdin?.destroy()
        },
    }
}

/** Rejects with a clear message when a port the simulator needs is taken. */
export async function assertSimPortsFree(): Promise<void> {
    for (const port of SIM_PORTS) {
        const err = await new Promise<Error | undefined>(res => {
            const srv = createServer()
            srv.once("error", e => res(e))
            srv.listen(port, "127.0.0.1", () => srv.close(() => res(undefined)))
        })
        if (err)
            throw new Error(
                `DeviceScript simulator: port ${port} on 127.0.0.1 is busy (${(err as NodeJS.ErrnoException).code}). ` +
                    `Only one simulator session (devs devtools, ports ${SIM_PORTS.join("/")}) can run on a machine: ` +
                    `stop the other one (e.g. \`ss -ltnp | grep 808\`) and retry.`
            )
    }
}

function sleep(ms: number) {
    return new Promise(r => setTimeout(r, ms))
}

// ---------------------------------------------------------------------------
// shadow project

function makeShadowProject(): string {
    const dir = shadowProject("devs-sim-")
    mkdirSync(join(dir, ".devicescript/flash"), { recursive: true })
    return dir
}

// ---------------------------------------------------------------------------

/** Held by the process running a session, machine-wide (the ports are). */
const LOCK_DIR = join(tmpdir(), "devs-sim-session.lock")

function lockHolderAlive(): boolean {
    try {
        const pid = +readFileSync(join(LOCK_DIR, "pid"), "utf8")
        if (!(pid > 0)) return false
        process.kill(pid, 0)
        return true
    } catch (e) {
        // EPERM: alive but not ours; anything else: gone or unreadable
        return (e as NodeJS.ErrnoException).code === "EPERM"
    }
}

/**
 * Takes the machine-wide simulator lock (an atomic mkdir), waiting up to
 * `waitMs` for another process's session to end; a lock left by a dead
 * process is taken over. Checking the ports alone races: two processes can
 * both see them free.
 */
async function acquireSimLock(waitMs: number): Promise<() => void> {
    const giveUp = Date.now() + waitMs
    for (;;) {
        try {
            mkdirSync(LOCK_DIR)
            writeFileSync(join(LOCK_DIR, "pid"), String(process.pid))
            let held = true
            return () => {
                if (held) rmSync(LOCK_DIR, { recursive: true, force: true })
                held = false
            }
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
        }
        // give a new holder time to write its pid before judging it dead
        if (!lockHolderAlive()) {
            await sleep(200)
            if (!lockHolderAlive()) {
                rmSync(LOCK_DIR, { recursive: true, force: true })
                continue
            }
        }
        if (Date.now() >= giveUp)
            throw new Error(
                `DeviceScript simulator: another process runs a simulator session (lock ${LOCK_DIR}); only one can run on a machine`
            )
        await sleep(500)
    }
}

/**
 * Starts dev tools and a simulated device, builds `entry`, deploys it with
 * `settings`, and resolves once the program has started on the device.
 * Throws if another session is running, on compile errors and on timeout.
 */
export async function startSim(options: SimOptions): Promise<SimSession> {
    if (activeSession || starting)
        throw new Error(
            "DeviceScript simulator: a session is already running in this process; stop it first"
        )
    starting = true
    let release = () => {}
    try {
        release = await acquireSimLock(options.waitForPortsMs ?? 0)
        const session = await startSession(options)
        const stop = session.stop
        session.stop = async () => {
            await stop()
            release()
        }
        session[Symbol.asyncDispose] = session.stop
        return session
    } catch (e) {
        release()
        throw e
    } finally {
        starting = false
    }
}

async function startSession(options: SimOptions): Promise<SimSession> {
    const entryAbs = resolve(projectRoot, options.entry)
    const entry = relative(projectRoot, entryAbs)
    if (entry.startsWith("..") || isAbsolute(entry))
        throw new Error(
            `sim entry ${options.entry} must be inside ${projectRoot}`
        )
    if (!existsSync(entryAbs))
        throw new Error(`sim entry ${entryAbs} not found`)
    // validate before starting anything
    const envText = settingsToEnv(options.settings ?? {})
    let settings = options.settings ?? {}
    for (const giveUp = Date.now() + (options.waitForPortsMs ?? 0); ;) {
        try {
            await assertSimPortsFree()
            break
        } catch (e) {
            if (Date.now() >= giveUp) throw e
            await sleep(500)
        }
    }

    const t0 = Date.now()
    const bootTimeoutMs = options.bootTimeoutMs ?? 60_000
    const deadline = t0 + bootTimeoutMs
    const dir = makeShadowProject()
    liveDirs.add(dir)
    const flashFile = options.flashFile
        ? resolve(options.flashFile)
        : join(dir, ".devicescript/flash.bin")
    mkdirSync(dirname(flashFile), { recursive: true })
    if (options.clearFlash) rmSync(flashFile, { force: true })
    // the VM reads and writes <cwd>/.devicescript/flash/sim.bin
    symlinkSync(flashFile, join(dir, ".devicescript/flash/sim.bin"))
    writeFileSync(join(dir, ".env.defaults"), envText)

    const lines: string[] = []
    const diag: string[] = [] // recent non-device output, for error messages
    let cursor = 0
    let stopped = false
    const wakers = new Set<() => void>()
    const wake = () => {
        for (const w of [...wakers]) w()
    }
    const trace = !!process.env.SIM_TRACE
    const note = (who: string, l: string) => {
        if (trace) console.error(`[sim +${Date.now() - t0}ms] ${who}: ${l}`)
        diag.push(`${who}: ${l}`)
        if (diag.length > 60) diag.splice(0, 20)
    }
    const recent = () =>
        `\n--- recent device lines:\n${lines.slice(-15).join("\n")}\n--- recent tool output:\n${diag.slice(-15).join("\n")}`

    let devtools: CliProcess | undefined
    let vm: CliProcess | undefined
    let ws: MiniWebSocket | undefined
    let vmDeath: string | undefined // set while the device is down unexpectedly
    let seq = 0
    const pending = new Map<number, (msg: any) => void>()

    const startVm = () => {
        vmDeath = undefined
        const p = startCli(
            ["vm"],
            dir,
            { ...process.env, ...options.env },
            (l, stream) => {
                if (stream === "out" && l.startsWith("WASM> ")) {
                    const line = l.slice(6)
                    lines.push(line)
                    if (trace)
                        console.error(
                            `[sim +${Date.now() - t0}ms] WASM> ${line}`
                        )
                    if (options.echo) console.log(`WASM> ${line}`)
                    try {
                        options.onLine?.(line)
                    } catch (e) {
                        note("onLine", String(e))
                    }
                    wake()
                } else {
                    note("vm", l)
                    // a runtime panic (e.g. an oversized setting read) leaves
                    // the process up but the device dead
                    if (/^(RuntimeError: )?Aborted\(/.test(l) && !vmDeath) {
                        vmDeath = `device aborted (${l})`
                        wake()
                    }
                }
            }
        )
        p.exited.then(code => {
            if (vm === p && !stopped) {
                vmDeath = `device process exited with code ${code}`
                wake()
            }
        })
        return p
    }

    const request = (req: string, data: unknown, timeoutMs: number) =>
        new Promise<any>((res, rej) => {
            const s = ++seq
            const t = setTimeout(() => {
                pending.delete(s)
                rej(
                    new Error(
                        `dev tools did not answer ${req} in ${timeoutMs} ms${recent()}`
                    )
                )
            }, timeoutMs)
            pending.set(s, msg => {
                clearTimeout(t)
                if (msg.resp === "error")
                    rej(new Error(`dev tools ${req}: ${msg.data?.message}`))
                else res(msg.data)
            })
            ws!.send(JSON.stringify({ req, seq: s, data }))
        })

    /** Compiles `entry` in dev tools; throws on compile errors. */
    const compile = async (deadline: number) => {
        const r = await request(
            "build",
            { filename: entry, buildOptions: {} },
            Math.max(deadline - Date.now(), 30_000)
        )
        if (!r.success) {
            const msgs = (r.diagnostics ?? []).map(
                (d: any) => d.formatted || d.messageText
            )
            throw new Error(`sim: build of ${entry} failed\n${msgs.join("\n")}`)
        }
    }

    /**
     * Deploys the last compiled program with `settings` from this process
     * (see `sim-deploy.ts` for why not through dev tools), without compiling
     * again: waits for the device to announce itself, and retries a failed
     * attempt with backoff until `deadline`.
     */
    const deployProgram = async (deadline: number) => {
        const bytecode = readFileSync(
            join(dir, ".devicescript/bin/bytecode.devs")
        )
        let pause = 250
        for (let attempt = 1; ; attempt++) {
            if (vmDeath) throw new Error(`sim: ${vmDeath}${recent()}`)
            try {
                await deployToSim({
                    bytecode,
                    settings,
                    timeoutMs: Math.max(deadline - Date.now(), 1000),
                    port: SIM_PORTS[1],
                    log: l => note("deploy", l),
                })
                return
            } catch (e) {
                const msg = (e as Error).message
                note("deploy", `attempt ${attempt} failed: ${msg}`)
                if (vmDeath) throw new Error(`sim: ${vmDeath}${recent()}`)
                if (Date.now() + pause >= deadline)
                    throw new Error(
                        `sim: deploy timed out after ${attempt} attempts: ${msg}${recent()}`
                    )
            }
            await sleep(pause)
            pause = Math.min(pause * 2, 4000)
        }
    }

    /** Resolves at the next device line or after `ms`. */
    const nextLine = (ms: number) =>
        new Promise<void>(r => {
            const w = () => {
                wakers.delete(w)
                clearTimeout(t)
                r()
            }
            const t = setTimeout(w, Math.max(ms, 0))
            wakers.add(w)
        })

    const lastStart = (from: number) => {
        for (let i = lines.length - 1; i >= from; i--)
            if (lines[i].startsWith("start: ")) return i
        return -1
    }

    /**
     * Index of the runtime's `start: ...` line of the program run that
     * `from` leads to, or -1 on timeout. With `settleMs`, keeps waiting that
     * long for a later start and takes the last one: after a deploy on kept
     * flash, the program in flash may or may not have started by itself
     * (with the old settings) before the deploy restarts it.
     */
    const waitForStart = async (
        from: number,
        timeoutMs: number,
        settleMs = 0
    ) => {
        const end = Date.now() + timeoutMs
        while (lastStart(from) < 0) {
            if (vmDeath) throw new Error(`sim: ${vmDeath}${recent()}`)
            if (Date.now() >= end) return -1
            await nextLine(end - Date.now())
        }
        const settle = Date.now() + settleMs
        while (Date.now() < settle) await nextLine(settle - Date.now())
        return lastStart(from)
    }

    const stop = async () => {
        if (stopped) return
        stopped = true
        wake()
        ws?.close()
        await vm?.stop()
        await devtools?.stop()
        rmSync(dir, { recursive: true, force: true })
        liveDirs.delete(dir)
        if (activeSession === session) activeSession = undefined
    }

    const session: SimSession = {
        dir,
        flashFile,
        lines,
        bootMs: 0,
        waitForLine(re, timeoutMs = 30_000) {
            return new Promise((res, rej) => {
                let timer: NodeJS.Timeout
                const check = () => {
                    for (; cursor < lines.length; cursor++) {
                        const m = re.exec(lines[cursor])
                        if (m) {
                            cursor++
                            done()
                            res(m)
                            return
                        }
                    }
                    if (vmDeath || stopped) {
                        done()
                        rej(
                            new Error(
                                `sim: waiting for ${re}: ${vmDeath ?? "session stopped"}${recent()}`
                            )
                        )
                    }
                }
                const done = () => {
                    wakers.delete(check)
                    clearTimeout(timer)
                }
                timer = setTimeout(() => {
                    done()
                    rej(
                        new Error(
                            `sim: no device line matched ${re} within ${timeoutMs} ms${recent()}`
                        )
                    )
                }, timeoutMs)
                wakers.add(check)
                check()
            })
        },
        follow() {
            let i = lines.length
            const it: AsyncIterableIterator<string> = {
                [Symbol.asyncIterator]: () => it,
                next: () =>
                    new Promise(res => {
                        const check = () => {
                            if (i < lines.length) {
                                wakers.delete(check)
                                res({ value: lines[i++], done: false })
                            } else if (stopped) {
                                wakers.delete(check)
                                res({ value: undefined, done: true })
                            }
                        }
                        wakers.add(check)
                        check()
                    }),
                return: async () => ({ value: undefined, done: true }),
            }
            return it
        },
        async restart() {
            if (stopped) throw new Error("sim: session stopped")
            const old = vm
            vm = undefined
            await old?.stop()
            const from = lines.length
            cursor = from
            vm = startVm()
            const i = await waitForStart(from, 30_000)
            if (i < 0)
                throw new Error(
                    `sim: program did not start after reboot${recent()}`
                )
        },
        async deploy(newSettings) {
            if (stopped) throw new Error("sim: session stopped")
            if (newSettings) {
                writeFileSync(
                    join(dir, ".env.defaults"),
                    settingsToEnv(newSettings)
                )
                settings = newSettings
            }
            const from = lines.length
            if (vmDeath) throw new Error(`sim: ${vmDeath}; restart() first`)
            const deadline = Date.now() + bootTimeoutMs
            await compile(deadline)
            await deployProgram(deadline)
            const i = await waitForStart(from, 10_000, 500)
            cursor = i < 0 ? from : i
        },
        stop,
        [Symbol.asyncDispose]: stop,
    }
    activeSession = session

    try {
        // 1. dev tools server (no entry file: builds are requested explicitly)
        let listening!: () => void
        const ready = new Promise<void>(r => (listening = r))
        devtools = startCli(["devtools"], dir, process.env, l => {
            note("devtools", l)
            if (/dbgserver\s*:/.test(l)) listening()
        })
        const devtoolsExit = devtools.exited.then(code => {
            throw new Error(
                code === 100
                    ? `DeviceScript simulator: dev tools could not listen (port ${SIM_PORTS.join("/")} in use): another simulator session is running`
                    : `sim: dev tools exited with code ${code}${recent()}`
            )
        })
        devtoolsExit.catch(() => {})
        await Promise.race([
            ready,
            devtoolsExit,
            timeoutAfter(deadline - Date.now(), "dev tools start"),
        ])
        // 2. side channel; the listen call may trail the log line slightly
        for (;;) {
            try {
                ws = await connectWebSocket("127.0.0.1", SIM_PORTS[0], text => {
                    let msg: any
                    try {
                        msg = JSON.parse(text)
                    } catch {
                        return
                    }
                    if (msg.seq && pending.has(msg.seq)) {
                        const f = pending.get(msg.seq)!
                        pending.delete(msg.seq)
                        f(msg)
                    }
                })
                break
            } catch (e) {
                if (Date.now() > deadline) throw e
                await sleep(100)
            }
        }
        // 3. compile first: fails fast on errors and leaves the debug info the
        //    VM reads at start-up to resolve stack traces
        await Promise.race([compile(deadline), devtoolsExit])
        // 4. the device, then deploy program + settings over Jacdac TCP
        const from = lines.length
        vm = startVm()
        await Promise.race([deployProgram(deadline), devtoolsExit])
        const i = await waitForStart(from, 10_000, 500)
        cursor = i < 0 ? from : i
        ;(session as { bootMs: number }).bootMs = Date.now() - t0
        return session
    } catch (e) {
        await stop()
        throw e
    }
}

function timeoutAfter(ms: number, what: string) {
    return new Promise<never>((_, rej) => {
        const t = setTimeout(
            () => rej(new Error(`sim: ${what} timed out`)),
            Math.max(ms, 0)
        )
        t.unref()
    })
}
