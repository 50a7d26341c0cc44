/**
 * The admin API: plain HTTP on 127.0.0.1, a port of its own, JSON in and
 * out. Read by tests, the benchmark and `npm start`; the routes are listed
 * in README.md ("Platform emulator").
 */
import http from "node:http"
import type { Platform } from "./index.ts"
import { FaultInputError } from "./faults.ts"
import { HOST } from "./server.ts"

class HttpError extends Error {
    constructor(
        public status: number,
        msg: string
    ) {
        super(msg)
    }
}

function readJson(req: http.IncomingMessage): Promise<any> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = []
        req.on("data", c => chunks.push(c))
        req.on("error", reject)
        req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8").trim()
            if (!text) return resolve({})
            try {
                resolve(JSON.parse(text))
            } catch {
                reject(new HttpError(400, "body is not JSON"))
            }
        })
    })
}

function deviceId(b: any): [string, string] {
    if (typeof b?.productKey !== "string" || typeof b?.deviceName !== "string")
        throw new HttpError(400, "productKey and deviceName are required")
    return [b.productKey, b.deviceName]
}

function since(list: any[], q: URLSearchParams) {
    const s = Number(q.get("since") ?? 0)
    return s ? list.filter(r => r.seq > s) : list
}

/** Routes one admin request to the platform; returns the JSON answer. */
async function route(p: Platform, req: http.IncomingMessage) {
    const u = new URL(req.url ?? "/", "http://x")
    const r = `${req.method} ${u.pathname.replace(/\/+$/, "") || "/"}`
    switch (r) {
        case "GET /":
            return {
                url: p.url,
                adminUrl: p.adminUrl,
                caFile: p.caFile,
                routes: [
                    "GET /devices",
                    "POST /devices",
                    "POST /remove-device",
                    "GET /auths",
                    "GET /messages",
                    "GET /informs",
                    "GET /requests",
                    "GET /stats",
                    "GET /faults",
                    "POST /faults",
                    "POST /expire-token",
                    "POST /clock",
                    "POST /reset",
                ],
            }
        case "GET /devices":
            return p.devices()
        case "POST /devices": {
            const b = await readJson(req)
            try {
                return p.addDevice(typeof b?.device === "string" ? b.device : b)
            } catch (e: any) {
                throw new HttpError(400, e.message)
            }
        }
        case "POST /remove-device": {
            const [pk, dn] = deviceId(await readJson(req))
            return { removed: p.removeDevice(pk, dn) }
        }
        case "GET /auths":
            return since(p.auths(), u.searchParams)
        case "GET /messages":
            return since(p.messages(), u.searchParams).map(m => {
                const { body, ...rest } = m
                return rest
            })
        case "GET /informs":
            return since(p.informs(), u.searchParams).map(m => {
                const { body, ...rest } = m
                return rest
            })
        case "GET /requests":
            return since(p.requests(), u.searchParams)
        case "GET /stats":
            return p.stats()
        case "GET /faults":
            return p.faults()
        case "POST /faults":
            return p.setFaults(await readJson(req))
        case "POST /expire-token": {
            const [pk, dn] = deviceId(await readJson(req))
            return { expired: p.expireToken(pk, dn) }
        }
        case "POST /clock": {
            const b = await readJson(req)
            if (typeof b?.offsetMs !== "number")
                throw new HttpError(400, "offsetMs (a number) is required")
            p.setClockOffset(b.offsetMs)
            return { offsetMs: b.offsetMs, now: p.now() }
        }
        case "POST /reset": {
            const b = await readJson(req)
            p.reset({ tokens: b?.tokens === true })
            return { ok: true }
        }
    }
    throw new HttpError(404, `no route ${r}`)
}

/** Starts the admin server for `p` on 127.0.0.1:`port` (0: any free port). */
export async function startAdmin(p: Platform, port: number) {
    const server = http.createServer(async (req, res) => {
        let status = 200
        let out: unknown
        try {
            out = await route(p, req)
        } catch (e: any) {
            status =
                e instanceof HttpError
                    ? e.status
                    : e instanceof FaultInputError
                      ? 400
                      : 500
            out = { error: e?.message ?? String(e) }
        }
        const buf = Buffer.from(JSON.stringify(out, null, 1), "utf8")
        res.writeHead(status, {
            "Content-Type": "application/json",
            "Content-Length": buf.length,
        })
        res.end(buf)
    })
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(port, HOST, () => {
            server.off("error", reject)
            resolve()
        })
    })
    return server
}
