package hub

import (
	"fmt"
	"log/slog"
)

// slogPrinter adapts slog to the Println-style loggers some libraries take.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.l.Error(fmt.Sprint(v...)) }
