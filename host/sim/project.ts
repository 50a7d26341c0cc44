/**
 * The temporary "shadow" project a simulator session runs the CLI in. The
 * CLI reads `.env.defaults`/`.env.local` and `devsconfig.json` and writes
 * `.devicescript/` relative to its working directory only, so each session
 * gets a directory that symlinks every top-level entry of the repository
 * except `.env*`, `.devicescript` and `.git`, plus its own `.env.defaults`
 * holding the session's settings (a user's `.env.local` is never read or
 * touched). The VM's flash, `<cwd>/.devicescript/flash/sim.bin`, is a
 * symlink to the session's flash file, so any location works.
 */
import {
    existsSync,
    mkdirSync,
    rmSync,
    symlinkSync,
    writeFileSync,
} from "node:fs"
import { dirname, isAbsolute, join, relative, resolve } from "node:path"
import { projectRoot, shadowProject } from "../lib/devs.ts"
import { cleanUpAtExit } from "./cli-process.ts"
import { settingsToEnv } from "./settings-env.ts"

/** A session's shadow project. */
export interface SimProject {
    /** The temporary directory. */
    readonly dir: string
    /** The flash image the VM uses. */
    readonly flashFile: string
    /** Writes the settings dev tools would deploy (`.env.defaults`). */
    writeSettings(settings: Record<string, string>): void
    /** Deletes the directory (a caller's flash file stays). */
    remove(): void
}

/**
 * The entry file relative to the repository root; throws when it lies
 * outside the repository or does not exist.
 */
export function projectEntry(entry: string): string {
    const abs = resolve(projectRoot, entry)
    const rel = relative(projectRoot, abs)
    if (rel.startsWith("..") || isAbsolute(rel))
        throw new Error(`sim entry ${entry} must be inside ${projectRoot}`)
    if (!existsSync(abs)) throw new Error(`sim entry ${abs} not found`)
    return rel
}

/**
 * Makes the shadow project with `settings`. `flashFile` defaults to a file
 * in the directory (so it goes with it); `clearFlash` deletes it first.
 */
export function makeSimProject(o: {
    settings: Record<string, string>
    flashFile?: string
    clearFlash?: boolean
}): SimProject {
    const envText = settingsToEnv(o.settings) // checked before anything is made
    const dir = shadowProject("devs-sim-")
    const forget = cleanUpAtExit(() =>
        rmSync(dir, { recursive: true, force: true })
    )
    mkdirSync(join(dir, ".devicescript/flash"), { recursive: true })
    const flashFile = o.flashFile
        ? resolve(o.flashFile)
        : join(dir, ".devicescript/flash.bin")
    mkdirSync(dirname(flashFile), { recursive: true })
    if (o.clearFlash) rmSync(flashFile, { force: true })
    symlinkSync(flashFile, join(dir, ".devicescript/flash/sim.bin"))
    const envFile = join(dir, ".env.defaults")
    writeFileSync(envFile, envText)
    return {
        dir,
        flashFile,
        writeSettings: settings =>
            writeFileSync(envFile, settingsToEnv(settings)),
        remove() {
            rmSync(dir, { recursive: true, force: true })
            forget()
        },
    }
}
