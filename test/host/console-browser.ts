// Shared by the console tests: Debian's chromium driven by puppeteer-core
// (no browser download), with the flags a closed network needs, a fresh
// profile per launch, and a record of every error a page logs.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import { CHROMIUM } from "../../host/testkit/test-system-packages.ts"

/** Where the tests leave their screenshots (for the notes). */
export const SCREENSHOT_DIR = "state/console"

/** A headless chromium with its own profile; `close()` removes the profile. */
export async function launchBrowser(): Promise<{
    browser: Browser
    close(): Promise<void>
}> {
    if (!existsSync(CHROMIUM))
        throw new Error(
            `${CHROMIUM} missing: apt-get install -y chromium (npm test does it when it may)`
        )
    const profile = mkdtempSync(join(tmpdir(), "console-chromium-"))
    const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        userDataDir: profile,
        protocolTimeout: 120_000,
        args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    })
    return {
        browser,
        async close() {
            await browser.close()
            rmSync(profile, { recursive: true, force: true })
        },
    }
}

/** Every console error, uncaught exception and failed request of a page. */
export function recordErrors(page: Page): string[] {
    const errors: string[] = []
    page.on("console", m => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`)
    })
    page.on("pageerror", e => errors.push(`page: ${(e as Error).message}`))
    page.on("requestfailed", r => {
        // an event stream cut when the page or test ends is not an error
        if (!r.url().endsWith("/events"))
            errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`)
    })
    return errors
}

/** Saves a screenshot of `page` as `state/console/NAME.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true })
    const path = join(SCREENSHOT_DIR, `${name}.png`)
    await page.screenshot({ path: path as `${string}.png`, fullPage: true })
    return path
}
