package report_test

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg" // FullScreenshot below quality 100 gives a JPEG
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/fluxlint/fluxlint/analyzers/ir"
	"github.com/fluxlint/fluxlint/internal/clients"
	"github.com/fluxlint/fluxlint/internal/golden"
	"github.com/fluxlint/fluxlint/internal/lint"
	"github.com/fluxlint/fluxlint/internal/report"
	"github.com/fluxlint/fluxlint/rules"
	pgrules "github.com/fluxlint/fluxlint/rules/pg"
)

// TestHTMLInChromium renders the demo migrations' report in headless
// Chromium and checks, in the rendered page: one card per finding, every
// plan step numbered, a deploy header per deploy, the point of no return
// marked, a working copy button and severity filter, no request other than
// the page itself, no console error, and a screenshot that is not blank.
// -update writes screenshots to docs/ for README.
func TestHTMLInChromium(t *testing.T) {
	chromium := clients.Program(t, "chromium")
	root := clients.Root(t)
	t.Chdir(root) // paths in the page as a user running from the repository sees them
	opt := lint.Options{Engine: ir.Postgres, Version: pgrules.DefaultVersion, Rules: pgrules.Rules(), CodePaths: []string{"fixtures/demo/app"}}
	res := lint.Run([]string{"fixtures/demo/migrations"}, opt)
	var steps, irreversible, deploys, shown int
	for _, f := range res.Findings {
		if f.Severity != rules.Info {
			shown++
		}
		if f.Plan == nil {
			continue
		}
		for i, s := range f.Plan.Steps {
			steps++
			if s.Irreversible {
				irreversible++
			}
			if i > 0 && s.SeparateDeploy {
				deploys++
			}
		}
	}
	if irreversible == 0 || deploys == 0 || shown == len(res.Findings) {
		t.Fatalf("the demo must have a point of no return (%d), several deploys (%d) and info findings", irreversible, deploys)
	}
	var page bytes.Buffer
	if err := report.HTML(&page, res); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	var mu sync.Mutex
	var requests, consoleErrors []string
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				consoleErrors = append(consoleErrors, "console.error")
			}
		case *runtime.EventExceptionThrown:
			consoleErrors = append(consoleErrors, e.ExceptionDetails.Text)
		}
	})
	if err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	// Every later action gets a deadline; the first call (Listen) must not,
	// since a timeout on it would stop the browser.
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitReady(`body[data-ready="1"]`)); err != nil {
		t.Fatalf("the page's script did not run: %v", err)
	}
	count := func(selector string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(selector)+`).length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	cards, numbered := count("details.finding"), count("li.step .num")
	pnr, deployHeaders := count("li.step.irreversible .pnr"), count(".deploy")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	// README shows the top of the page and one multi-deploy plan, as the
	// page first opens.
	docShots := map[string][]byte{}
	if *golden.Update {
		if docShots["html-report.png"], err = chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
			t.Fatal(err)
		}
		if docShots["html-report-plan.png"], err = chromedp.Run(ctx, chromedp.Screenshot(`details.finding[data-code="PG301"]`)); err != nil {
			t.Fatal(err)
		}
	}
	// Clicks go through the DOM (element.click()), which runs the page's own
	// handlers as a user's click does.
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const b = document.querySelector("button.copy"); b.click();
		await new Promise(r => setTimeout(r, 200)); return b.textContent; })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('input[data-sev="info"]').click()`)); err != nil {
		t.Fatal(err)
	}
	visibleAfterFilter := count("details.finding:not(.hidden)")
	if cards != len(res.Findings) {
		t.Errorf("%d finding cards, want %d", cards, len(res.Findings))
	}
	if numbered != steps {
		t.Errorf("%d numbered steps, want %d", numbered, steps)
	}
	if pnr != irreversible {
		t.Errorf("%d steps marked as the point of no return, want %d", pnr, irreversible)
	}
	// Each plan with more than one deploy shows a header per deploy.
	if deployHeaders <= deploys {
		t.Errorf("%d deploy headers for %d deploy boundaries", deployHeaders, deploys)
	}
	if copied != "Copied" {
		t.Errorf("the copy button says %q after a click, want Copied", copied)
	}
	if visibleAfterFilter != shown {
		t.Errorf("with info unchecked %d findings are visible, want %d", visibleAfterFilter, shown)
	}
	mu.Lock()
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page fetched %s: it must be self-contained", u)
		}
	}
	if len(consoleErrors) > 0 {
		t.Errorf("console errors: %v", consoleErrors)
	}
	mu.Unlock()
	checkScreenshot(t, shot)
	if *golden.Update {
		for name, img := range docShots {
			if err := os.WriteFile(filepath.Join(root, "docs", name), img, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkScreenshot fails on a blank or tiny render: a real page has the dark
// header, coloured badges and code blocks, so many distinct colours.
func checkScreenshot(t *testing.T, shot []byte) {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot does not decode: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 2000 {
		t.Errorf("screenshot is %dx%d: the page did not render its findings", b.Dx(), b.Dy())
	}
	colours := map[uint32]bool{}
	dark := 0
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>12)<<8|(g>>12)<<4|bl>>12] = true
			if r+g+bl < 3*0x3000 {
				dark++
			}
		}
	}
	if len(colours) < 50 || dark == 0 {
		t.Errorf("screenshot looks blank: %d colours, %d dark samples", len(colours), dark)
	}
}
