// The console's sockets, without a browser: idle ones are closed and their
// number is capped while a real request still works; and an unknown device
// id answers as a malformed one does.
import { test } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ArtifactStore } from "../../host/fleet/release/artifacts.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { startConsole } from "../../host/console/index.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

/** A console on an empty fleet. */
async function emptyConsole(
    o: { maxConnections?: number; idleTimeoutMs?: number } = {}
) {
    const dir = mkdtempSync(join(tmpdir(), "console-limits-"))
    const store = new SqliteStore(":memory:")
    await store.upsertDevice({
        id: "dev-1",
        key: "00".repeat(32),
        groups: [],
        platformId: "",
        createdAt: 0,
    })
    const con = await startConsole({
        store,
        artifacts: new ArtifactStore(join(dir, "artifacts")),
        ...o,
    })
    return {
        con,
        async close() {
            await con.close()
            await store.close()
            rmSync(dir, { recursive: true, force: true })
        },
    }
}

test("idle sockets: their number is capped (the oldest idle one goes), a real request still works, and they are closed after the idle timeout", async () => {
    const c = await emptyConsole({ maxConnections: 20, idleTimeoutMs: 2000 })
    const sockets: Socket[] = []
    let open = 0
    try {
        for (let i = 0; i < 200; i++) {
            const s = connect(c.con.port, "127.0.0.1")
            s.on("error", () => {})
            let connected = false
            s.on("connect", () => ((connected = true), open++))
            s.on("close", () => connected && open--)
            sockets.push(s)
        }
        await waitUntil(
            () => sockets.every(s => !s.connecting) && open <= 20,
            20_000,
            "at most 20 sockets held"
        )
        const r = await fetch(`http://127.0.0.1:${c.con.port}/api/fleet`, {
            headers: { "X-Console-Token": c.con.token },
        })
        assert.equal(r.status, 200)
        assert.equal((await r.json()).devices.length, 1)
        // the ones still held send nothing: closed after the idle timeout
        await waitUntil(() => open === 0, 30_000, "every idle socket closed")
    } finally {
        for (const s of sockets) s.destroy()
        await c.close()
    }
})

test("an unknown device id and a malformed one get the same answer", async () => {
    const c = await emptyConsole()
    try {
        const get = async (id: string) => {
            const r = await fetch(
                `http://127.0.0.1:${c.con.port}/api/device?id=${encodeURIComponent(id)}`,
                { headers: { "X-Console-Token": c.con.token } }
            )
            return `${r.status} ${await r.text()}`
        }
        assert.match(await get("dev-1"), /^200 /)
        const unknown = await get("dev-2")
        assert.match(unknown, /^404 /)
        for (const id of ["", "dev\u202E1", "x".repeat(5000), "../etc"])
            assert.equal(await get(id), unknown, JSON.stringify(id))
    } finally {
        await c.close()
    }
})
