package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// CheckTools verifies the media tools a role needs, with a message that
// says how to install what is missing.
func CheckTools(ctx context.Context, ffmpeg, ffprobe, espeak string, needSpeech bool) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var errs []error
	if _, err := exec.LookPath(ffmpeg); err != nil {
		errs = append(errs, fmt.Errorf("ffmpeg (%s) not found: install it with `sudo apt-get install ffmpeg` (Debian/Ubuntu) or set EVERCAST_FFMPEG", ffmpeg))
	} else if out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-encoders").Output(); err != nil {
		errs = append(errs, fmt.Errorf("ffmpeg (%s) does not run: %v", ffmpeg, err))
	} else {
		for _, enc := range []string{"libx264", " aac "} {
			if !bytes.Contains(out, []byte(enc)) {
				errs = append(errs, fmt.Errorf("ffmpeg (%s) lacks the %s encoder: install Debian's ffmpeg package (`sudo apt-get install ffmpeg`)", ffmpeg, enc))
			}
		}
	}
	if _, err := exec.LookPath(ffprobe); err != nil {
		errs = append(errs, fmt.Errorf("ffprobe (%s) not found: install it with `sudo apt-get install ffmpeg` or set EVERCAST_FFPROBE", ffprobe))
	}
	if needSpeech {
		if _, err := exec.LookPath(espeak); err != nil {
			errs = append(errs, fmt.Errorf("espeak-ng (%s) not found: install it with `sudo apt-get install espeak-ng` or set EVERCAST_ESPEAK_NG", espeak))
		}
	}
	return errors.Join(errs...)
}

// FindFont returns the CJK font to render with.
func FindFont(configured string) (string, error) {
	if configured != "" {
		if _, err := os.Stat(configured); err != nil {
			return "", fmt.Errorf("EVERCAST_FONT %s: %w", configured, err)
		}
		return configured, nil
	}
	for _, p := range []string{
		"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
		"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
		"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
		"/System/Library/Fonts/PingFang.ttc",
	} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no CJK font found: install one with `sudo apt-get install fonts-wqy-microhei` or set EVERCAST_FONT to a TTF/TTC file")
}
