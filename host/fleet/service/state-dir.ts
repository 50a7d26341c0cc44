/**
 * The service's state directory holds every device key (in `fleet.db`) and
 * the artifacts it deploys: it is created 0700, and a directory that group
 * or others can write is refused (its contents could have been replaced).
 */
import { chmodSync, mkdirSync, statSync } from "node:fs"

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
