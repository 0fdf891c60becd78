// Command printenv is a stand-in for one of our commands in mittest's own
// tests: it prints its name, arguments, working directory and the
// environment variables a Realm sets, then exits with the status given by
// -exit.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	exit := flag.Int("exit", 0, "exit status")
	flag.Parse()
	wd, _ := os.Getwd()
	fmt.Printf("name=%s\n", filepath.Base(os.Args[0]))
	fmt.Printf("args=%q\n", flag.Args())
	fmt.Printf("wd=%s\n", wd)
	for _, k := range []string{"KRB5_CONFIG", "KRB5_KDC_PROFILE", "KRB5_KTNAME", "KRB5CCNAME", "KRB5RCACHEDIR"} {
		fmt.Printf("%s=%s\n", k, os.Getenv(k))
	}
	fmt.Fprintln(os.Stderr, "printenv: done")
	os.Exit(*exit)
}
