package lambdalocal

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Build compiles the bootstrap of the function with the given logical id in
// template.yaml by the same recipe `sam build` uses: the repository
// Makefile's build-<logicalID> target, here for this machine's architecture
// rather than the deployed one. It returns the path of outDir/bootstrap.
//
// The recipe builds for GOOS=linux, so the result runs here only on Linux.
func Build(ctx context.Context, repoRoot, logicalID, outDir string) (string, error) {
	// make -C changes directory, so a relative outDir would land in repoRoot.
	outDir, err := filepath.Abs(outDir)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", logicalID, err)
	}
	cmd := exec.CommandContext(ctx, "make", "-C", repoRoot, "build-"+logicalID,
		"ARTIFACTS_DIR="+outDir, "LAMBDA_GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", logicalID, err, out)
	}
	bootstrap := filepath.Join(outDir, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return "", fmt.Errorf("build %s: %w", logicalID, err)
	}
	return bootstrap, nil
}
