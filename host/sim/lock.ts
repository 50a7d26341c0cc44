/**
 * One simulator per machine: the dev tools server always listens on
 * 127.0.0.1:8081-8083, so a session first takes a machine-wide lock (an
 * atomic mkdir of `/tmp/devs-sim-session.lock`) and then checks that the
 * ports are free, both within one deadline.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"

/** Ports the dev tools server always uses (dashboard/ws, Jacdac TCP, debugger). */
export const SIM_PORTS = [8081, 8082, 8083] as const

/** Held by the process running a session, machine-wide (the ports are). */
const LOCK_DIR = join(tmpdir(), "devs-sim-session.lock")

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
 * Takes the machine-wide lock, waiting until `deadline` for another
 * process's session to end; a lock left by a dead process is taken over.
 * Checking the ports alone races: two processes can both see them free.
 */
async function acquireSimLock(deadline: number): Promise<() => void> {
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
        if (Date.now() >= deadline)
            throw new Error(
                `DeviceScript simulator: another process runs a simulator session (lock ${LOCK_DIR}); only one can run on a machine`
            )
        await sleep(500)
    }
}

/**
 * Takes the simulator for this process: the lock, then free ports (a
 * session of a tool that does not take the lock may still hold them),
 * waiting at most `waitMs` for both together. Resolves with the release.
 */
export async function claimSimulator(waitMs: number): Promise<() => void> {
    const deadline = Date.now() + waitMs
    const release = await acquireSimLock(deadline)
    try {
        for (;;) {
            try {
                await assertSimPortsFree()
                return release
            } catch (e) {
                if (Date.now() >= deadline) throw e
                await sleep(500)
            }
        }
    } catch (e) {
        release()
        throw e
    }
}
