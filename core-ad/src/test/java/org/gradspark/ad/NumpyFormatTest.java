package org.gradspark.ad;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * {@link Tensor#toString()} against NumPy 2.4's {@code str(array)} with default print options. Every
 * expected string was printed by NumPy for an array of the same dtype and values, so a mismatch is a
 * formatting bug here, not a matter of taste.
 */
class NumpyFormatTest {

    /**
     * The outputs the tutorial shows: float32 values print with float32's shortest digits, float64 with at
     * most 8.
     */
    @Test
    void tutorialOutputs() {
        assertEquals("[[4.51      2.7       3.6000001]\n [4.51      2.7       3.6000001]]",
                Tensor.of(new float[][] {{4.51f, 2.7f, 3.6000001f}, {4.51f, 2.7f, 3.6000001f}}).toString());
        assertEquals("[[2.211     0.51      1.49     ]\n [5.5880003 2.68      4.0699997]]",
                Tensor.of(new float[][] {{2.211f, 0.51f, 1.49f}, {5.5880003f, 2.68f, 4.0699997f}}).toString());
        assertEquals("[21.536001]",
                Tensor.of(new float[] {21.536001f}).toString());
        assertEquals("[-5.35897932e-08]",
                Tensor.of(new double[] {-5.358979323846264e-08}).toString());
    }

    /** Integer-valued floats keep the trailing decimal point and pad to the widest integer part. */
    @Test
    void integerValuedFloats() {
        assertEquals("[1. 2. 3.]",
                Tensor.of(new float[] {1.0f, 2.0f, 3.0f}).toString());
        assertEquals("[1. 2. 3.]",
                Tensor.of(new double[] {1.0, 2.0, 3.0}).toString());
        assertEquals("[ -1.  10. 100.]",
                Tensor.of(new double[] {-1.0, 10.0, 100.0}).toString());
    }

    /** Negative zero keeps its sign, and columns are right-aligned on the point across signs. */
    @Test
    void signsAndZeros() {
        assertEquals("[-1.5    2.25  -0.125  3.   ]",
                Tensor.of(new double[] {-1.5, 2.25, -0.125, 3.0}).toString());
        assertEquals("[   0.5    -2.75   10.   -100.25]",
                Tensor.of(new float[] {0.5f, -2.75f, 10.0f, -100.25f}).toString());
        assertEquals("[ 0.  -0.   1.5]",
                Tensor.of(new double[] {0.0, -0.0, 1.5}).toString());
        assertEquals("[ 0. -0.]",
                Tensor.of(new float[] {0.0f, -0.0f}).toString());
        assertEquals("[0. 0. 0.]",
                Tensor.of(new float[] {0.0f, 0.0f, 0.0f}).toString());
        assertEquals("[-0.e+00  1.e+09]",
                Tensor.of(new double[] {-0.0, 1000000000.0}).toString());
    }

    /** nan and inf take no part in the notation choice but widen the column to fit themselves. */
    @Test
    void nonFiniteValues() {
        assertEquals("[ nan  1.5 -inf  inf]",
                Tensor.of(new double[] {Double.NaN, 1.5, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY}).toString());
        assertEquals("[ 1. nan]",
                Tensor.of(new float[] {1.0f, Float.NaN}).toString());
        assertEquals("[inf  2.]",
                Tensor.of(new float[] {Float.POSITIVE_INFINITY, 2.0f}).toString());
        assertEquals("[nan inf]",
                Tensor.of(new double[] {Double.NaN, Double.POSITIVE_INFINITY}).toString());
        assertEquals("[ nan -inf]",
                Tensor.of(new double[] {Double.NaN, Double.NEGATIVE_INFINITY}).toString());
        assertEquals("[nan]",
                Tensor.of(new float[] {Float.NaN}).toString());
        assertEquals("[1.e+10    nan   -inf]",
                Tensor.of(new double[] {10000000000.0, Double.NaN, Double.NEGATIVE_INFINITY}).toString());
        assertEquals("[1.e-06    inf]",
                Tensor.of(new float[] {1e-06f, Float.POSITIVE_INFINITY}).toString());
    }

    /**
     * Scientific notation past 1e8 (1e6 for float32), below 1e-4, or past a max/min ratio of 1000; the
     * mantissa digits and exponent width are shared by all values.
     */
    @Test
    void scientificNotation() {
        assertEquals("[1.e+09 1.e+00]",
                Tensor.of(new double[] {1000000000.0, 1.0}).toString());
        assertEquals("[1.e+09]",
                Tensor.of(new double[] {1000000000.0}).toString());
        assertEquals("[1.e+08]",
                Tensor.of(new double[] {100000000.0}).toString());
        assertEquals("[99999999.]",
                Tensor.of(new double[] {99999999.0}).toString());
        assertEquals("[1.e-05 1.e+00]",
                Tensor.of(new double[] {1e-05, 1.0}).toString());
        assertEquals("[1.e-05]",
                Tensor.of(new float[] {1e-05f}).toString());
        assertEquals("[1.000e+00 1.001e+03]",
                Tensor.of(new double[] {1.0, 1001.0}).toString());
        assertEquals("[   1. 1000.]",
                Tensor.of(new double[] {1.0, 1000.0}).toString());
        assertEquals("[0.001 1.   ]",
                Tensor.of(new float[] {0.001f, 1.0f}).toString());
        assertEquals("[1.50e-05 2.25e-07 3.00e+00]",
                Tensor.of(new double[] {1.5e-05, 2.25e-07, 3.0}).toString());
        assertEquals("[-1.50e-05  2.25e-07  3.00e+00]",
                Tensor.of(new float[] {-1.5e-05f, 2.25e-07f, 3.0f}).toString());
        assertEquals("[1.e+100 1.e+000]",
                Tensor.of(new double[] {1e+100, 1.0}).toString());
        assertEquals("[1.e-300 1.e+300]",
                Tensor.of(new double[] {1e-300, 1e+300}).toString());
        assertEquals("[ 1.23456789e+10 -3.00000000e+00]",
                Tensor.of(new double[] {12345678912.0, -3.0}).toString());
        assertEquals("[0.0001 0.0002]",
                Tensor.of(new double[] {0.0001, 0.0002}).toString());
        assertEquals("[0.0001 0.0002]",
                Tensor.of(new float[] {1e-04f, 0.0002f}).toString());
        assertEquals("[1.e+06 1.e+00]",
                Tensor.of(new float[] {1e+06f, 1.0f}).toString());
        assertEquals("[1.e+06]",
                Tensor.of(new float[] {1e+06f}).toString());
        assertEquals("[1000000.]",
                Tensor.of(new double[] {1000000.0}).toString());
        assertEquals("[999999.   1000.]",
                Tensor.of(new float[] {999999.0f, 1000.0f}).toString());
        assertEquals("[123456.79]",
                Tensor.of(new float[] {123456.79f}).toString());
        assertEquals("[3.e+38 1.e-38]",
                Tensor.of(new float[] {3e+38f, 1e-38f}).toString());
    }

    /**
     * A 0-d array prints as its scalar: shortest round-trip digits, no 8-digit cap, positional only in
     * [1e-4, 1e16), [1e-4, 1e6) for float32.
     */
    @Test
    void zeroDimensional() {
        assertEquals("3.5",
                Tensor.scalar(3.5, DType.FLOAT32).toString());
        assertEquals("3.5",
                Tensor.scalar(3.5, DType.FLOAT64).toString());
        assertEquals("1.0",
                Tensor.scalar(1.0, DType.FLOAT64).toString());
        assertEquals("0.30000000000000004",
                Tensor.scalar(0.30000000000000004, DType.FLOAT64).toString());
        assertEquals("0.33333334",
                Tensor.scalar(0.3333333333333333, DType.FLOAT32).toString());
        assertEquals("0.3333333333333333",
                Tensor.scalar(0.3333333333333333, DType.FLOAT64).toString());
        assertEquals("1e+16",
                Tensor.scalar(1e+16, DType.FLOAT64).toString());
        assertEquals("1000000000000000.0",
                Tensor.scalar(1000000000000000.0, DType.FLOAT64).toString());
        assertEquals("1e-05",
                Tensor.scalar(1e-05, DType.FLOAT64).toString());
        assertEquals("0.0001",
                Tensor.scalar(0.0001, DType.FLOAT64).toString());
        assertEquals("1e-04",
                Tensor.scalar(0.0001, DType.FLOAT32).toString());
        assertEquals("-0.0",
                Tensor.scalar(-0.0, DType.FLOAT64).toString());
        assertEquals("0.0",
                Tensor.scalar(0.0, DType.FLOAT32).toString());
        assertEquals("nan",
                Tensor.scalar(Double.NaN, DType.FLOAT64).toString());
        assertEquals("-inf",
                Tensor.scalar(Double.NEGATIVE_INFINITY, DType.FLOAT32).toString());
        assertEquals("1.5e-07",
                Tensor.scalar(1.5e-07, DType.FLOAT32).toString());
        assertEquals("123456789.0",
                Tensor.scalar(123456789.0, DType.FLOAT64).toString());
        assertEquals("1e+09",
                Tensor.scalar(1000000000.0, DType.FLOAT32).toString());
        assertEquals("-5.358979323846264e-08",
                Tensor.scalar(-5.358979323846264e-08, DType.FLOAT64).toString());
        assertEquals("999999.94",
                Tensor.scalar(999999.94, DType.FLOAT32).toString());
        assertEquals("1e+06",
                Tensor.scalar(1000000.0, DType.FLOAT32).toString());
    }

    /**
     * Digits follow NumPy's Dragon4, not shortest round-trip: ties at the half-way point count for an even
     * mantissa, a power of two has a narrower lower gap, and padded scientific columns show the exact
     * value's further digits.
     */
    @Test
    void dragon4Digits() {
        assertEquals("[9.9999997e-06 1.2345678e-05]",
                Tensor.of(new float[] {1e-05f, 1.2345678e-05f}).toString());
        assertEquals("[1.2345678e+00 9.0919602e-06]",
                Tensor.of(new float[] {1.2345678f, 9.09196e-06f}).toString());
        assertEquals("[1.0000e-01 1.2345e-09]",
                Tensor.of(new double[] {0.1, 1.2345e-09}).toString());
        assertEquals("1.1810262e+08",
                Tensor.scalar(118102624.0, DType.FLOAT32).toString());
        assertEquals("[1.1810262e+08 1.0000000e+00]",
                Tensor.of(new float[] {118102624f, 1.0f}).toString());
        assertEquals("5.960464477539063e-08",
                Tensor.scalar(5.960464477539063e-08, DType.FLOAT64).toString());
        assertEquals("[5.96046448e-08 1.00000000e+00]",
                Tensor.of(new double[] {5.960464477539063e-08, 1.0}).toString());
    }

    /** maxprec rounds to 8 fractional digits, so float64 noise such as 0.1 + 0.2 disappears. */
    @Test
    void roundingToEightDigits() {
        assertEquals("[0.3]",
                Tensor.of(new double[] {0.30000000000000004}).toString());
        assertEquals("[0.33333334]",
                Tensor.of(new float[] {0.33333334f}).toString());
        assertEquals("[0.33333333]",
                Tensor.of(new double[] {0.3333333333333333}).toString());
        assertEquals("[0.33333333 0.66666667 1.        ]",
                Tensor.of(new double[] {0.3333333333333333, 0.6666666666666666, 1.0}).toString());
        assertEquals("[0.00195312]",
                Tensor.of(new double[] {0.001953125}).toString());
        assertEquals("[123.45678901]",
                Tensor.of(new double[] {123.456789012}).toString());
        assertEquals("[  0.6666667 100.       ]",
                Tensor.of(new float[] {0.6666667f, 100.0f}).toString());
    }

    /**
     * Blocks of rank k are separated by k - 1 blank lines; an empty tensor prints as [] whatever its
     * shape.
     */
    @Test
    void higherRanks() {
        assertEquals("[[[0.  0.5 1. ]\n  [1.5 2.  2.5]]\n\n [[3.  3.5 4. ]\n  [4.5 5.  5.5]]]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(2, 2, 3), i -> i * 0.5).toString());
        assertEquals("[[[[-11.25 -10.25]\n   [ -9.25  -8.25]]\n\n  [[ -7.25  -6.25]\n   [ -5.25  -4.25]]\n\n  [[ -3.25  -2.25]\n   [ -1.25  -0.25]]]\n\n\n [[[  0.75   1.75]\n   [  2.75   3.75]]\n\n  [[  4.75   5.75]\n   [  6.75   7.75]]\n\n  [[  8.75   9.75]\n   [ 10.75  11.75]]]]",
                Tensor.fromFunction(DType.FLOAT32, Shape.of(2, 3, 2, 2), i -> i - 11.25).toString());
        assertEquals("[[ 0.]\n [-1.]\n [-2.]]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(3, 1), i -> -i).toString());
        assertEquals("[]",
                Tensor.of(new float[] {}).toString());
        assertEquals("[]",
                Tensor.of(new double[] {}, 2, 0).toString());
    }

    /** Rows wrap at 75 characters, continuation lines indented under the first element. */
    @Test
    void lineWrapping() {
        assertEquals("[1.         0.5        0.33333333 0.25       0.2        0.16666667\n 0.14285714 0.125      0.11111111 0.1        0.09090909 0.08333333\n 0.07692308 0.07142857 0.06666667 0.0625     0.05882353 0.05555556\n 0.05263158 0.05       0.04761905 0.04545455 0.04347826 0.04166667\n 0.04       0.03846154 0.03703704 0.03571429 0.03448276 0.03333333]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(30), i -> 1.0 / (i + 1)).toString());
        assertEquals("[ 0.    1.25  2.5   3.75  5.    6.25  7.5   8.75 10.   11.25 12.5  13.75\n 15.   16.25 17.5  18.75 20.   21.25 22.5  23.75 25.   26.25 27.5  28.75\n 30.  ]",
                Tensor.fromFunction(DType.FLOAT32, Shape.of(25), i -> i * 1.25).toString());
        assertEquals("[[-2000. -1900. -1800. -1700. -1600. -1500. -1400. -1300. -1200. -1100.\n  -1000.  -900.  -800.  -700.  -600.  -500.  -400.  -300.  -200.  -100.]\n [    0.   100.   200.   300.   400.   500.   600.   700.   800.   900.\n   1000.  1100.  1200.  1300.  1400.  1500.  1600.  1700.  1800.  1900.]]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(2, 20), i -> i * 100.0 - 2000).toString());
        assertEquals("[[[      0.  100000.  200000.  300000.  400000.  500000.  600000.\n    700000.  800000.  900000. 1000000. 1100000.]\n  [1200000. 1300000. 1400000. 1500000. 1600000. 1700000. 1800000.\n   1900000. 2000000. 2100000. 2200000. 2300000.]]\n\n [[2400000. 2500000. 2600000. 2700000. 2800000. 2900000. 3000000.\n   3100000. 3200000. 3300000. 3400000. 3500000.]\n  [3600000. 3700000. 3800000. 3900000. 4000000. 4100000. 4200000.\n   4300000. 4400000. 4500000. 4600000. 4700000.]]]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(2, 2, 12), i -> i * 1e5).toString());
    }

    /**
     * Past 1000 elements only 3 edge items per axis print, and only they decide the format; exactly 1000
     * prints in full.
     */
    @Test
    void summarisation() {
        assertEquals("[   0.    1.    2. ...  998.  999. 1000.]",
                Tensor.fromFunction(DType.FLOAT32, Shape.of(1001), i -> i).toString());
        assertEquals("[  0.   1.   2.   3.   4.   5.   6.   7.   8.   9.  10.  11.  12.  13.\n  14.  15.  16.  17.  18.  19.  20.  21.  22.  23.  24.  25.  26.  27.\n  28.  29.  30.  31.  32.  33.  34.  35.  36.  37.  38.  39.  40.  41.\n  42.  43.  44.  45.  46.  47.  48.  49.  50.  51.  52.  53.  54.  55.\n  56.  57.  58.  59.  60.  61.  62.  63.  64.  65.  66.  67.  68.  69.\n  70.  71.  72.  73.  74.  75.  76.  77.  78.  79.  80.  81.  82.  83.\n  84.  85.  86.  87.  88.  89.  90.  91.  92.  93.  94.  95.  96.  97.\n  98.  99. 100. 101. 102. 103. 104. 105. 106. 107. 108. 109. 110. 111.\n 112. 113. 114. 115. 116. 117. 118. 119. 120. 121. 122. 123. 124. 125.\n 126. 127. 128. 129. 130. 131. 132. 133. 134. 135. 136. 137. 138. 139.\n 140. 141. 142. 143. 144. 145. 146. 147. 148. 149. 150. 151. 152. 153.\n 154. 155. 156. 157. 158. 159. 160. 161. 162. 163. 164. 165. 166. 167.\n 168. 169. 170. 171. 172. 173. 174. 175. 176. 177. 178. 179. 180. 181.\n 182. 183. 184. 185. 186. 187. 188. 189. 190. 191. 192. 193. 194. 195.\n 196. 197. 198. 199. 200. 201. 202. 203. 204. 205. 206. 207. 208. 209.\n 210. 211. 212. 213. 214. 215. 216. 217. 218. 219. 220. 221. 222. 223.\n 224. 225. 226. 227. 228. 229. 230. 231. 232. 233. 234. 235. 236. 237.\n 238. 239. 240. 241. 242. 243. 244. 245. 246. 247. 248. 249. 250. 251.\n 252. 253. 254. 255. 256. 257. 258. 259. 260. 261. 262. 263. 264. 265.\n 266. 267. 268. 269. 270. 271. 272. 273. 274. 275. 276. 277. 278. 279.\n 280. 281. 282. 283. 284. 285. 286. 287. 288. 289. 290. 291. 292. 293.\n 294. 295. 296. 297. 298. 299. 300. 301. 302. 303. 304. 305. 306. 307.\n 308. 309. 310. 311. 312. 313. 314. 315. 316. 317. 318. 319. 320. 321.\n 322. 323. 324. 325. 326. 327. 328. 329. 330. 331. 332. 333. 334. 335.\n 336. 337. 338. 339. 340. 341. 342. 343. 344. 345. 346. 347. 348. 349.\n 350. 351. 352. 353. 354. 355. 356. 357. 358. 359. 360. 361. 362. 363.\n 364. 365. 366. 367. 368. 369. 370. 371. 372. 373. 374. 375. 376. 377.\n 378. 379. 380. 381. 382. 383. 384. 385. 386. 387. 388. 389. 390. 391.\n 392. 393. 394. 395. 396. 397. 398. 399. 400. 401. 402. 403. 404. 405.\n 406. 407. 408. 409. 410. 411. 412. 413. 414. 415. 416. 417. 418. 419.\n 420. 421. 422. 423. 424. 425. 426. 427. 428. 429. 430. 431. 432. 433.\n 434. 435. 436. 437. 438. 439. 440. 441. 442. 443. 444. 445. 446. 447.\n 448. 449. 450. 451. 452. 453. 454. 455. 456. 457. 458. 459. 460. 461.\n 462. 463. 464. 465. 466. 467. 468. 469. 470. 471. 472. 473. 474. 475.\n 476. 477. 478. 479. 480. 481. 482. 483. 484. 485. 486. 487. 488. 489.\n 490. 491. 492. 493. 494. 495. 496. 497. 498. 499. 500. 501. 502. 503.\n 504. 505. 506. 507. 508. 509. 510. 511. 512. 513. 514. 515. 516. 517.\n 518. 519. 520. 521. 522. 523. 524. 525. 526. 527. 528. 529. 530. 531.\n 532. 533. 534. 535. 536. 537. 538. 539. 540. 541. 542. 543. 544. 545.\n 546. 547. 548. 549. 550. 551. 552. 553. 554. 555. 556. 557. 558. 559.\n 560. 561. 562. 563. 564. 565. 566. 567. 568. 569. 570. 571. 572. 573.\n 574. 575. 576. 577. 578. 579. 580. 581. 582. 583. 584. 585. 586. 587.\n 588. 589. 590. 591. 592. 593. 594. 595. 596. 597. 598. 599. 600. 601.\n 602. 603. 604. 605. 606. 607. 608. 609. 610. 611. 612. 613. 614. 615.\n 616. 617. 618. 619. 620. 621. 622. 623. 624. 625. 626. 627. 628. 629.\n 630. 631. 632. 633. 634. 635. 636. 637. 638. 639. 640. 641. 642. 643.\n 644. 645. 646. 647. 648. 649. 650. 651. 652. 653. 654. 655. 656. 657.\n 658. 659. 660. 661. 662. 663. 664. 665. 666. 667. 668. 669. 670. 671.\n 672. 673. 674. 675. 676. 677. 678. 679. 680. 681. 682. 683. 684. 685.\n 686. 687. 688. 689. 690. 691. 692. 693. 694. 695. 696. 697. 698. 699.\n 700. 701. 702. 703. 704. 705. 706. 707. 708. 709. 710. 711. 712. 713.\n 714. 715. 716. 717. 718. 719. 720. 721. 722. 723. 724. 725. 726. 727.\n 728. 729. 730. 731. 732. 733. 734. 735. 736. 737. 738. 739. 740. 741.\n 742. 743. 744. 745. 746. 747. 748. 749. 750. 751. 752. 753. 754. 755.\n 756. 757. 758. 759. 760. 761. 762. 763. 764. 765. 766. 767. 768. 769.\n 770. 771. 772. 773. 774. 775. 776. 777. 778. 779. 780. 781. 782. 783.\n 784. 785. 786. 787. 788. 789. 790. 791. 792. 793. 794. 795. 796. 797.\n 798. 799. 800. 801. 802. 803. 804. 805. 806. 807. 808. 809. 810. 811.\n 812. 813. 814. 815. 816. 817. 818. 819. 820. 821. 822. 823. 824. 825.\n 826. 827. 828. 829. 830. 831. 832. 833. 834. 835. 836. 837. 838. 839.\n 840. 841. 842. 843. 844. 845. 846. 847. 848. 849. 850. 851. 852. 853.\n 854. 855. 856. 857. 858. 859. 860. 861. 862. 863. 864. 865. 866. 867.\n 868. 869. 870. 871. 872. 873. 874. 875. 876. 877. 878. 879. 880. 881.\n 882. 883. 884. 885. 886. 887. 888. 889. 890. 891. 892. 893. 894. 895.\n 896. 897. 898. 899. 900. 901. 902. 903. 904. 905. 906. 907. 908. 909.\n 910. 911. 912. 913. 914. 915. 916. 917. 918. 919. 920. 921. 922. 923.\n 924. 925. 926. 927. 928. 929. 930. 931. 932. 933. 934. 935. 936. 937.\n 938. 939. 940. 941. 942. 943. 944. 945. 946. 947. 948. 949. 950. 951.\n 952. 953. 954. 955. 956. 957. 958. 959. 960. 961. 962. 963. 964. 965.\n 966. 967. 968. 969. 970. 971. 972. 973. 974. 975. 976. 977. 978. 979.\n 980. 981. 982. 983. 984. 985. 986. 987. 988. 989. 990. 991. 992. 993.\n 994. 995. 996. 997. 998. 999.]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(1000), i -> i).toString());
        assertEquals("[[0.000e+00 1.000e-02 2.000e-02 ... 4.700e-01 4.800e-01 4.900e-01]\n [5.000e-01 5.100e-01 5.200e-01 ... 9.700e-01 9.800e-01 9.900e-01]\n [1.000e+00 1.010e+00 1.020e+00 ... 1.470e+00 1.480e+00 1.490e+00]\n ...\n [2.350e+01 2.351e+01 2.352e+01 ... 2.397e+01 2.398e+01 2.399e+01]\n [2.400e+01 2.401e+01 2.402e+01 ... 2.447e+01 2.448e+01 2.449e+01]\n [2.450e+01 2.451e+01 2.452e+01 ... 2.497e+01 2.498e+01 2.499e+01]]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(50, 50), i -> i * 0.01).toString());
        assertEquals("[[[ 0.000e+00  1.000e+00  2.000e+00 ...  8.000e+00  9.000e+00  1.000e+01]\n  [ 1.100e+01  1.200e+01  1.300e+01 ...  1.900e+01  2.000e+01 -2.100e+01]\n  [ 2.200e+01  2.300e+01  2.400e+01 ...  3.000e+01  3.100e+01  3.200e+01]\n  ...\n  [-7.700e+01  7.800e+01  7.900e+01 ...  8.500e+01  8.600e+01  8.700e+01]\n  [ 8.800e+01  8.900e+01  9.000e+01 ...  9.600e+01  9.700e+01 -9.800e+01]\n  [ 9.900e+01  1.000e+02  1.010e+02 ...  1.070e+02  1.080e+02  1.090e+02]]\n\n [[ 1.100e+02  1.110e+02 -1.120e+02 ...  1.180e+02 -1.190e+02  1.200e+02]\n  [ 1.210e+02  1.220e+02  1.230e+02 ...  1.290e+02  1.300e+02  1.310e+02]\n  [ 1.320e+02 -1.330e+02  1.340e+02 ... -1.400e+02  1.410e+02  1.420e+02]\n  ...\n  [ 1.870e+02  1.880e+02 -1.890e+02 ...  1.950e+02 -1.960e+02  1.970e+02]\n  [ 1.980e+02  1.990e+02  2.000e+02 ...  2.060e+02  2.070e+02  2.080e+02]\n  [ 2.090e+02 -2.100e+02  2.110e+02 ... -2.170e+02  2.180e+02  2.190e+02]]\n\n [[ 2.200e+02  2.210e+02  2.220e+02 ...  2.280e+02  2.290e+02  2.300e+02]\n  [-2.310e+02  2.320e+02  2.330e+02 ...  2.390e+02  2.400e+02  2.410e+02]\n  [ 2.420e+02  2.430e+02  2.440e+02 ...  2.500e+02  2.510e+02 -2.520e+02]\n  ...\n  [ 2.970e+02  2.980e+02  2.990e+02 ...  3.050e+02  3.060e+02  3.070e+02]\n  [-3.080e+02  3.090e+02  3.100e+02 ...  3.160e+02  3.170e+02  3.180e+02]\n  [ 3.190e+02  3.200e+02  3.210e+02 ...  3.270e+02  3.280e+02 -3.290e+02]]\n\n ...\n\n [[-7.700e+02  7.710e+02  7.720e+02 ...  7.780e+02  7.790e+02  7.800e+02]\n  [ 7.810e+02  7.820e+02  7.830e+02 ...  7.890e+02  7.900e+02 -7.910e+02]\n  [ 7.920e+02  7.930e+02  7.940e+02 ...  8.000e+02  8.010e+02  8.020e+02]\n  ...\n  [-8.470e+02  8.480e+02  8.490e+02 ...  8.550e+02  8.560e+02  8.570e+02]\n  [ 8.580e+02  8.590e+02  8.600e+02 ...  8.660e+02  8.670e+02 -8.680e+02]\n  [ 8.690e+02  8.700e+02  8.710e+02 ...  8.770e+02  8.780e+02  8.790e+02]]\n\n [[ 8.800e+02  8.810e+02 -8.820e+02 ...  8.880e+02 -8.890e+02  8.900e+02]\n  [ 8.910e+02  8.920e+02  8.930e+02 ...  8.990e+02  9.000e+02  9.010e+02]\n  [ 9.020e+02 -9.030e+02  9.040e+02 ... -9.100e+02  9.110e+02  9.120e+02]\n  ...\n  [ 9.570e+02  9.580e+02 -9.590e+02 ...  9.650e+02 -9.660e+02  9.670e+02]\n  [ 9.680e+02  9.690e+02  9.700e+02 ...  9.760e+02  9.770e+02  9.780e+02]\n  [ 9.790e+02 -9.800e+02  9.810e+02 ... -9.870e+02  9.880e+02  9.890e+02]]\n\n [[ 9.900e+02  9.910e+02  9.920e+02 ...  9.980e+02  9.990e+02  1.000e+03]\n  [-1.001e+03  1.002e+03  1.003e+03 ...  1.009e+03  1.010e+03  1.011e+03]\n  [ 1.012e+03  1.013e+03  1.014e+03 ...  1.020e+03  1.021e+03 -1.022e+03]\n  ...\n  [ 1.067e+03  1.068e+03  1.069e+03 ...  1.075e+03  1.076e+03  1.077e+03]\n  [-1.078e+03  1.079e+03  1.080e+03 ...  1.086e+03  1.087e+03  1.088e+03]\n  [ 1.089e+03  1.090e+03  1.091e+03 ...  1.097e+03  1.098e+03 -1.099e+03]]]",
                Tensor.fromFunction(DType.FLOAT32, Shape.of(10, 10, 11), i -> i % 7 == 0 ? -i : i).toString());
        assertEquals("[[  1.   2.   3. ...  98.  99. 100.]\n [  1.   2.   3. ...  98.  99. 100.]]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(2, 1000), i -> i == 1500 ? 1e-9 : i % 100 + 1).toString());
        assertEquals("[1.00000000e+00 5.00000000e-01 3.33333333e-01 ... 1.00100100e-03\n 1.00000000e-03 9.99000999e-04]",
                Tensor.fromFunction(DType.FLOAT64, Shape.of(1001), i -> 1.0 / (i + 1)).toString());
    }
}
