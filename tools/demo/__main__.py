from tools.demo.generator import main

raise SystemExit(main())
