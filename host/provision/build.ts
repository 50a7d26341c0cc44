/**
 * Builds the firmware bytecode with the pinned DeviceScript CLI, optionally
 * against a board (`import "@dsboard/<id>"`: `devs build` has no board
 * flag; a program selects its board by importing it). Each build runs in a
 * temporary copy of the project made of symlinks, so concurrent builds and
 * tests never share `.devicescript/bin`.
 */
import { spawn } from "node:child_process"
import {
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    symlinkSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { devsCli, projectRoot } from "../devs.ts"

export interface BuildResult {
    ok: boolean
    /** the compiled program (`.devs`), when ok */
    bytecode?: Buffer
    /** everything the CLI printed */
    output: string
}

/** Builds `src/main.ts`, with `board` imported first when given. */
export async function buildFirmware(board?: string): Promise<BuildResult> {
    if (board !== undefined && !/^\w+$/.test(board))
        throw new RangeError(`board id '${board}': letters, digits and _ only`)
    const dir = mkdtempSync(join(tmpdir(), "devs-build-"))
    try {
        for (const name of readdirSync(projectRoot)) {
            if (name === ".devicescript" || name.startsWith(".env")) continue
            symlinkSync(join(projectRoot, name), join(dir, name))
        }
        let entry = "src/main.ts"
        if (board) {
            entry = `main-${board}.ts`
            writeFileSync(
                join(dir, entry),
                // a named import: a bare `import "@dsboard/x"` compiles even
                // for a board that does not exist
                `import { pins } from "@dsboard/${board}"\nimport "./src/main"\n`
            )
        }
        const output = await new Promise<{ code: number; text: string }>(
            resolve => {
                const child = spawn(
                    process.execPath,
                    [devsCli, "--no-colors", "build", entry],
                    { cwd: dir }
                )
                let text = ""
                child.stdout.on("data", d => (text += d))
                child.stderr.on("data", d => (text += d))
                child.on("close", code => resolve({ code: code ?? 1, text }))
            }
        )
        if (output.code !== 0) return { ok: false, output: output.text }
        const bytecode = readFileSync(
            join(dir, ".devicescript/bin/bytecode.devs")
        )
        return { ok: true, bytecode, output: output.text }
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
}
