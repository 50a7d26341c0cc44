/**
 * The service's state directory holds every device key (in `fleet.db`) and
 * the artifacts it deploys: it is created 0700, and a directory that group
 * or others can write is refused (its contents could have been replaced).
 * One `fleet serve` at a time holds it (`serve.lock`).
 */
import {
    chmodSync,
    mkdirSync,
    readFileSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs"
import { join } from "node:path"

/** Why a state directory was refused. */
export class StateDirError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "StateDirError"
    }
}

/**
 * Creates `dir` (mode 0700) or checks an existing one: refuses it when
 * group or others may write it or when another user owns it; narrows a
 * readable one to 0700.
 * @returns a note when the mode was narrowed
 * @throws StateDirError
 */
export function prepareStateDir(dir: string): string | undefined {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const st = statSync(dir)
    if (!st.isDirectory()) throw new StateDirError(`${dir} is not a directory`)
    const mode = st.mode & 0o777
    const octal = mode.toString(8).padStart(3, "0")
    if (mode & 0o022)
        throw new StateDirError(
            `state directory ${dir} is writable by ${mode & 0o020 ? "its group" : "others"} (mode ${octal}); ` +
                `it holds the device keys: check its contents, then chmod 700 ${dir}`
        )
    const uid = process.getuid?.()
    if (uid !== undefined && st.uid !== uid)
        throw new StateDirError(
            `state directory ${dir} belongs to user ${st.uid}, not to this user (${uid})`
        )
    if (mode & 0o077) {
        chmodSync(dir, 0o700)
        return `state directory ${dir} was mode ${octal}: narrowed to 700`
    }
    return undefined
}

/** The file that marks a state directory in use by a running service. */
export const STATE_LOCK_FILE = "serve.lock"

/** True when a process with this id exists (possibly another user's). */
function processExists(pid: number): boolean {
    try {
        process.kill(pid, 0)
        return true
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM"
    }
}

/**
 * Marks `dir` in use by this process (`serve.lock`, holding its pid), so
 * that a second service on the same directory is refused before it opens
 * anything (it would take over the control socket, then delete it). A lock
 * left by a process that no longer exists (killed) is taken over.
 * @returns releases the lock (removes the file if it is still this process's)
 * @throws StateDirError when a live process holds it
 */
export function lockStateDir(dir: string): () => void {
    const file = join(dir, STATE_LOCK_FILE)
    const mine = `${process.pid}\n`
    for (let tries = 0; ; tries++) {
        try {
            writeFileSync(file, mine, { flag: "wx", mode: 0o600 })
            break
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST" || tries > 2)
                throw e
        }
        let held = ""
        try {
            held = readFileSync(file, "utf8")
        } catch {
            continue // released meanwhile: try again
        }
        const pid = Number(held.trim())
        if (Number.isInteger(pid) && pid > 0 && processExists(pid))
            throw new StateDirError(
                `state directory ${dir} is in use by another fleet service (pid ${pid}): ` +
                    `stop it first, or give this one a --state of its own`
            )
        // the holder is gone: take over, unless another starter already did
        if (readFileSync(file, "utf8") === held) rmSync(file, { force: true })
    }
    let held = true
    const release = () => {
        if (!held) return
        held = false
        process.off("exit", release)
        try {
            if (readFileSync(file, "utf8") === mine) rmSync(file)
        } catch {
            // already gone
        }
    }
    process.on("exit", release)
    return release
}
