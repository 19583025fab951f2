//go:build !linux

package render

func setNice(int, int) error { return nil }
