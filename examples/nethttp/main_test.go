package main

import (
	"testing"

	"github.com/jwesession/jwesession/examples/internal/apptest"
)

func TestApp(t *testing.T) { apptest.Run(t, newApp) }
