/**
 * The service's control socket: a Unix socket in the state directory (so
 * only its owner reaches it) that answers every connection with one JSON
 * line of live figures that are kept in memory only, such as failed
 * handshakes, and then closes. `fleet status` reads it. It takes no input.
 */
import { chmodSync, rmSync } from "node:fs"
import { connect, createServer, type Server } from "node:net"
import { join } from "node:path"

/** A control connection is closed after this long without progress. */
const CONTROL_TIMEOUT_MS = 5000

/** Path of the control socket of a state directory. */
export function controlSocketPath(stateDir: string): string {
    return join(stateDir, "service.sock")
}

/**
 * Listens on `path` (a stale socket file is replaced; mode 0600) and
 * answers each connection with `answer()` as JSON.
 */
export async function serveControl(
    path: string,
    answer: () => unknown
): Promise<Server> {
    rmSync(path, { force: true })
    const server = createServer(sock => {
        sock.on("error", () => {})
        // a client that never reads its answer does not hold the socket
        sock.setTimeout(CONTROL_TIMEOUT_MS, () => sock.destroy())
        sock.end(JSON.stringify(answer()) + "\n")
    })
    server.maxConnections = 16
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(path, () => resolve())
    })
    chmodSync(path, 0o600)
    server.unref()
    return server
}

/** The running service's answer, or undefined when none answers at `path`. */
export async function queryControl(
    path: string,
    timeoutMs = 3000
): Promise<any | undefined> {
    return new Promise(resolve => {
        const sock = connect(path)
        let text = ""
        const done = (v: unknown) => {
            clearTimeout(timer)
            sock.destroy()
            resolve(v)
        }
        const timer = setTimeout(() => done(undefined), timeoutMs)
        sock.on("data", d => (text += d))
        sock.on("end", () => {
            try {
                done(JSON.parse(text))
            } catch {
                done(undefined)
            }
        })
        sock.on("error", () => done(undefined))
    })
}
