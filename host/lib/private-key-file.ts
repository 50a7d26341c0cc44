/**
 * Private key files given by an operator (`--tls-key`, a release key): a
 * key that group or others can read is refused before it is used, with
 * the command that fixes it, as ssh does for its identity files.
 */
import { readFileSync, statSync } from "node:fs"

/** Why a private key file was refused. */
export class PrivateKeyFileError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "PrivateKeyFileError"
    }
}

/**
 * Why `mode` (a file's permission bits) is unsafe for a private key, or
 * undefined when only its owner may read it.
 */
export function unsafeKeyMode(mode: number): string | undefined {
    const m = mode & 0o777
    if (!(m & 0o077)) return undefined
    const who = m & 0o007 ? "others" : "its group"
    const octal = m.toString(8).padStart(3, "0")
    return `readable by ${who} (mode ${octal})`
}

/**
 * Reads the private key file `path` after checking that only its owner
 * may read it.
 * @throws PrivateKeyFileError when group or others may read it
 */
export function readPrivateKeyFile(path: string): Buffer {
    const why = unsafeKeyMode(statSync(path).mode)
    if (why)
        throw new PrivateKeyFileError(
            `private key ${path} is ${why}: anyone on this machine could copy it. ` +
                `Run: chmod 600 ${path}`
        )
    return readFileSync(path)
}
