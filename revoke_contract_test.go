package jwesession_test

import (
	"testing"

	"github.com/jwesession/jwesession"
	"github.com/jwesession/jwesession/internal/revocationtest"
)

func TestMemoryRevocationsContract(t *testing.T) {
	revocationtest.Run(t, func(t *testing.T) jwesession.RevocationStore { return &jwesession.MemoryRevocations{} })
}
