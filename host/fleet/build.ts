/**
 * Builds firmware into a `.devs` image without touching the repository's
 * own `.devicescript/` (the CLI always writes `<cwd>/.devicescript/bin`, and
 * other tools build there): the build runs in a temporary project that
 * links every top-level entry of the repository, with an optional
 * package.json `version` override (the firmware reports that version).
 */

/**
 * Makes `dir` a git checkout at tag `v<version>`: the compiler records a
 * version only inside a git checkout, and exactly the tag's name when the
 * checkout is clean at a `v*` tag (a release build).
 */
function tagRelease(dir: string, version: string) {
    const git = (...args: string[]) =>
        execFileSync("git", args, { cwd: dir, stdio: "pipe" })
    git("init", "-q")
    git("add", "-A")
    git(
        "-c",
        "user.name=fleet build",
        "-c",
        "user.email=fleet-build@localhost",
        "commit",
        "-qm",
        `release ${version}`
    )
    git("tag", `v${version}`)
}
import { execFileSync, spawn } from "node:child_process"
import {
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    symlinkSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { isAbsolute, join, relative, resolve } from "node:path"
import { devsCli, projectRoot } from "../devs.ts"

/** Builds `entry` (a path inside the repository) and returns the image bytes. */
export async function buildFirmware(
    entry: string,
    opts: { version?: string } = {}
): Promise<Buffer> {
    const abs = isAbsolute(entry) ? entry : resolve(projectRoot, entry)
    const rel = relative(projectRoot, abs)
    if (rel.startsWith(".."))
        throw new RangeError("entry must be inside the repository")
    const dir = mkdtempSync(join(tmpdir(), "fleet-build-"))
    try {
        for (const name of readdirSync(projectRoot)) {
            if (
                name === ".devicescript" ||
                name === ".git" ||
                name.startsWith(".env")
            )
                continue
            if (name === "package.json" && opts.version) continue
            symlinkSync(join(projectRoot, name), join(dir, name))
        }
        if (opts.version) {
            const pkg = JSON.parse(
                readFileSync(join(projectRoot, "package.json"), "utf8")
            )
            pkg.version = opts.version
            writeFileSync(
                join(dir, "package.json"),
                JSON.stringify(pkg, null, 4)
            )
        }
        if (opts.version) tagRelease(dir, opts.version)
        const { code, output } = await new Promise<{
            code: number
            output: string
        }>(res => {
            const c = spawn(
                process.execPath,
                [devsCli, "--no-colors", "build", rel],
                { cwd: dir }
            )
            let out = ""
            c.stdout.on("data", d => (out += d))
            c.stderr.on("data", d => (out += d))
            c.on("close", code => res({ code: code ?? 1, output: out }))
        })
        if (code !== 0) throw new Error(`devs build ${rel} failed:\n${output}`)
        return readFileSync(join(dir, ".devicescript/bin/bytecode.devs"))
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
}
