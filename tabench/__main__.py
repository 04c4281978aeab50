from tabench.cli import main

raise SystemExit(main())
